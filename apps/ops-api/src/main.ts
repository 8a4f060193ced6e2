import './instrument';
import { serviceMain } from '@tidemark/platform';
import { loadOpsApiConfig } from './config';
import { startOpsApi } from './service';

serviceMain('ops-api', loadOpsApiConfig, (config) => startOpsApi(config));
