export { startMergeService, type MergeService } from './service';
export { mergeServiceConfigSpec, loadMergeServiceConfig, type MergeServiceConfig } from './config';
export { Projector, decode, type MergeFn } from './projection/projector';
