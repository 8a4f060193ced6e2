// Types of the ES module entry of @tidemark/client/node: those of the CommonJS build it re-exports.
export * from '../dist/node.js';
