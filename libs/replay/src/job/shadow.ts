/** The Postgres schema a replay builds its shadow projection in (`replay_<id without dashes>`). */
export function shadowSchemaName(replayId: string): string {
  return `replay_${replayId.toLowerCase().replace(/[^0-9a-f]/g, '')}`;
}
