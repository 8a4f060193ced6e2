// `@tidemark/contracts/core`: the part of the contracts with no dependency at all (no TypeBox, no Ajv), for code
// that runs in a browser bundle (the merge engine inside the device SDK's local replica). Everything here is also
// exported by the main entry.
export { canonicalJson } from './canonical-json';
export { ID_TOKEN_PATTERN, TYPE_NAME_PATTERN, FIELD_NAME_PATTERN } from './events/patterns';
export { JOURNAL_SUBJECT_ROOT, MERGED_SUBJECT_ROOT, REVIEW_SUBJECT_ROOT, ASSETS_SUBJECT_ROOT, mergedSubject, reviewSubject } from './events/subjects';
export { SCOPE_KEY_SEPARATOR, scopeKey, partitionValue, partitionOfKey, typeKeyRange } from './events/scope-key';
