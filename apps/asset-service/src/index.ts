export { startAssetService, assetLimits } from './service';
export { assetServiceConfigSpec, loadAssetServiceConfig, CLASS_CAP_VARIABLE, type AssetServiceConfig } from './config';
