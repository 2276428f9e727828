/**
 * Preloaded into the service process by the bench (`node --import ./bench/servers/exit-with-bench.mjs dist/server.js`; plain JavaScript, so it needs no tsx):
 * when the bench goes away, even killed with SIGKILL, its IPC channel closes and the service gets the SIGTERM it
 * handles gracefully, so no benchmarked service is ever left running. It changes nothing else in the service.
 */
if (process.send) {
  process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}
