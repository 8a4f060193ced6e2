export { startOpsApi } from './service';
export { opsApiConfigSpec, loadOpsApiConfig, type OpsApiConfig } from './config';
