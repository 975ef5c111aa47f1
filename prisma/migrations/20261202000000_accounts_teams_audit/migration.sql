-- Accounts, teams, virtual-key management and the audit log (docs/roles.md, docs/api/users.md,
-- docs/api/keys.md, docs/audit-log.md).

-- AlterEnum: five roles. Existing `user` rows become `member` (renaming keeps every row and the
-- column default); `admin` keeps its meaning. New values are not used inside this transaction.
ALTER TYPE "UserRole" RENAME VALUE 'user' TO 'member';
ALTER TYPE "UserRole" ADD VALUE 'super_admin' BEFORE 'admin';
ALTER TYPE "UserRole" ADD VALUE 'admin_viewer' AFTER 'admin';
ALTER TYPE "UserRole" ADD VALUE 'member_viewer' AFTER 'member';

-- CreateTable
CREATE TABLE "teams" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "allowed_models" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "teams_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "teams_name_key" ON "teams"("name");

-- AlterTable: sessions, first-login password change, team, allowed models and services.
ALTER TABLE "users"
    ADD COLUMN "session_version" INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN "must_change_password" BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN "password_changed_at" TIMESTAMPTZ(6),
    ADD COLUMN "last_login_at" TIMESTAMPTZ(6),
    ADD COLUMN "team_id" UUID,
    ADD COLUMN "allowed_models" TEXT[] DEFAULT ARRAY[]::TEXT[],
    ADD COLUMN "allowed_services" TEXT[] DEFAULT ARRAY[]::TEXT[],
    ADD COLUMN "metadata" JSONB NOT NULL DEFAULT '{}';
CREATE INDEX "users_team_id_idx" ON "users"("team_id");
CREATE INDEX "users_role_idx" ON "users"("role");
ALTER TABLE "users" ADD CONSTRAINT "users_team_id_fkey" FOREIGN KEY ("team_id") REFERENCES "teams"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AlterTable: what key management stores (docs/api/keys.md).
ALTER TABLE "api_keys"
    ADD COLUMN "allowed_services" TEXT[] DEFAULT ARRAY[]::TEXT[],
    ADD COLUMN "encrypted_secret" TEXT,
    ADD COLUMN "rpm_limit" INTEGER,
    ADD COLUMN "tpm_limit" INTEGER,
    ADD COLUMN "credit_budget" DECIMAL(38,18),
    ADD COLUMN "credits_spent" DECIMAL(38,18) NOT NULL DEFAULT 0,
    ADD COLUMN "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP;

-- CreateTable
CREATE TABLE "audit_logs" (
    "id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actor_type" TEXT NOT NULL,
    "actor_user_id" UUID,
    "actor_key_id" UUID,
    "actor_label" TEXT,
    "actor_role" TEXT,
    "action" TEXT NOT NULL,
    "target_type" TEXT,
    "target_id" TEXT,
    "result" TEXT NOT NULL,
    "status" INTEGER NOT NULL,
    "request_id" TEXT,
    "ip" TEXT,
    "user_agent" TEXT,
    "method" TEXT,
    "path" TEXT,
    "changes" JSONB,

    CONSTRAINT "audit_logs_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "audit_logs_created_at_id_idx" ON "audit_logs"("created_at", "id");
CREATE INDEX "audit_logs_actor_user_id_created_at_idx" ON "audit_logs"("actor_user_id", "created_at");
CREATE INDEX "audit_logs_action_created_at_idx" ON "audit_logs"("action", "created_at");
CREATE INDEX "audit_logs_target_type_target_id_idx" ON "audit_logs"("target_type", "target_id");
