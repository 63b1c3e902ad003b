// Which UDP data path this test run serves with. CI runs the whole suite twice: once as it is (the FFI
// path, the default) and once with LOCALDNS_NO_FFI=1, so the fallback on the runtime's sockets passes
// the same tests. Tests of the FFI path itself (takeover, socket activation, the loop) skip in that run.
import { test, describe } from "bun:test";
import { platformFacts } from "../../src/net/platform";

export const FFI_OFF = platformFacts((n) => process.env[n], []).disabledBy !== null;

if (FFI_OFF) console.log("data path: LOCALDNS_NO_FFI is set — the runtime's sockets serve; tests of the FFI path itself are skipped");

/** `test`, skipped in the run that switches the FFI data path off. */
export const ffiTest = test.skipIf(FFI_OFF);
/** `describe`, skipped in the run that switches the FFI data path off. */
export const ffiDescribe = describe.skipIf(FFI_OFF);
