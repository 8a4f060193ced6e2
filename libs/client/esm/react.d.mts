// Types of the ES module entry of @tidemark/client/react: those of the CommonJS build it re-exports.
export * from '../dist/react.js';
