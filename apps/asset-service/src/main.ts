import './instrument';
import { serviceMain } from '@tidemark/platform';
import { loadAssetServiceConfig } from './config';
import { startAssetService } from './service';

serviceMain('asset-service', loadAssetServiceConfig, (config) => startAssetService(config));
