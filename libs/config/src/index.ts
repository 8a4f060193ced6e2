export { ConfigError, loadConfig, describeConfig, CommonConfig, NatsConfig, DatabaseConfig, S3Config, AuthConfig, CorsConfig, httpPort, httpTimeouts, type ConfigSpec } from './config';
