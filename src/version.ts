// Replaced at build time by build/build.ts (--define); "dev" when run from source.
declare const LOCALDNS_VERSION: string | undefined;
export const VERSION: string = typeof LOCALDNS_VERSION === "string" ? LOCALDNS_VERSION : "0.1.0-dev";
