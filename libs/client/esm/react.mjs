// ES module entry of @tidemark/client/react: the CommonJS build of the React bindings, re-exported by name (see index.mjs).
export { useEntity, useQuery } from '../dist/react.js';
