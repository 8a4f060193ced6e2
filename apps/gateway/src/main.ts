import './instrument';
import { serviceMain } from '@tidemark/platform';
import { loadGatewayConfig } from './config';
import { startGateway } from './service';

serviceMain('gateway', loadGatewayConfig, (config) => startGateway(config));
