export { startAssetService } from './service';
export { assetServiceConfigSpec, loadAssetServiceConfig, type AssetServiceConfig } from './config';
