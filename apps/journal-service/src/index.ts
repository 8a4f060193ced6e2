export { startJournalService } from './service';
export { journalAsyncApi } from './asyncapi';
export { journalServiceConfigSpec, loadJournalServiceConfig, type JournalServiceConfig } from './config';
