// Preloaded (--import) by runTests.js into the parity test's process, which
// runs node through another glibc's dynamic loader (`ld-linux-x86-64.so.2
// --library-path <dir> node ...`). There process.execPath would name that
// loader, so anything spawning `process.execPath` would start the loader with
// node's arguments and fail: point it back at the node binary, which then
// runs under the system's own loader and glibc.
const node = process.env.JOBTRAIL_NODE_PATH;
if (node) {
  process.execPath = node;
  process.argv[0] = node;
}
