// Files embedded in the single binary (`import p from "x.wasm" with { type: "file" }`): a path.
declare module "*.wasm" {
  const path: string;
  export default path;
}
