export { startGateway } from './service';
export { gatewayConfigSpec, loadGatewayConfig, type GatewayConfig } from './config';
export { pushBatch, type PushDeps } from './push/push.service';
