import './instrument';
import { serviceMain } from '@tidemark/platform';
import { loadMergeServiceConfig } from './config';
import { startMergeService } from './service';

serviceMain('merge-service', loadMergeServiceConfig, (config) => startMergeService(config));
