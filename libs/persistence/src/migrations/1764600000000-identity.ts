import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Identity and tenancy: workspaces, registered devices (status and token generation, so a revocation is
 * seen by the very next request), rotating refresh tokens stored as hashes, revoked operator tokens, and
 * the audit log of every state-changing operator call.
 */
export class Identity1764600000000 implements MigrationInterface {
  name = 'Identity1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "workspaces" (
      "workspace" text NOT NULL, "name" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_workspaces" PRIMARY KEY ("workspace"))`);
    await q.query(`CREATE TABLE "devices" (
      "workspace" text NOT NULL, "device_id" text NOT NULL, "site" text, "label" text,
      "status" text NOT NULL DEFAULT 'active', "generation" integer NOT NULL DEFAULT 1,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "revoked_at" TIMESTAMP WITH TIME ZONE,
      "last_pushed_seq" bigint NOT NULL DEFAULT 0, "last_push_at" TIMESTAMP WITH TIME ZONE,
      CONSTRAINT "PK_devices" PRIMARY KEY ("workspace", "device_id"),
      CONSTRAINT "FK_devices_workspace" FOREIGN KEY ("workspace") REFERENCES "workspaces" ("workspace"))`);
    await q.query(`CREATE INDEX "devices_site" ON "devices" ("workspace", "site")`);
    await q.query(`CREATE TABLE "refresh_tokens" (
      "token_hash" text NOT NULL, "workspace" text NOT NULL, "device_id" text NOT NULL, "family" uuid NOT NULL,
      "generation" integer NOT NULL, "issued_at" TIMESTAMP WITH TIME ZONE NOT NULL, "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "used_at" TIMESTAMP WITH TIME ZONE, "replaced_by" text,
      CONSTRAINT "PK_refresh_tokens" PRIMARY KEY ("token_hash"))`);
    await q.query(`CREATE INDEX "refresh_tokens_device" ON "refresh_tokens" ("workspace", "device_id")`);
    await q.query(`CREATE TABLE "operator_token_revocations" (
      "token_id" text NOT NULL, "revoked_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "revoked_by" text NOT NULL, "reason" text NOT NULL,
      CONSTRAINT "PK_operator_token_revocations" PRIMARY KEY ("token_id"))`);
    await q.query(`CREATE TABLE "audit_log" (
      "id" BIGSERIAL NOT NULL, "at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "actor" text NOT NULL, "actor_kind" text NOT NULL, "token_id" text, "action" text NOT NULL,
      "target" jsonb NOT NULL, "reason" text, "detail" jsonb, "outcome" text NOT NULL,
      CONSTRAINT "PK_audit_log" PRIMARY KEY ("id"))`);
    await q.query(`CREATE INDEX "audit_log_action" ON "audit_log" ("action", "at")`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['audit_log', 'operator_token_revocations', 'refresh_tokens', 'devices', 'workspaces']) await q.query(`DROP TABLE "${table}"`);
  }
}
