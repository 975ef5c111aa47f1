-- The per-user LLM configuration API for coding agents (docs/api/llm-config.md): a user's
-- GitHub/GitLab accounts and one LLM profile per user.

-- CreateEnum
CREATE TYPE "ExternalPlatform" AS ENUM ('github', 'gitlab');
CREATE TYPE "LlmProvider" AS ENUM ('openai', 'lmstudio', 'ollama', 'tollgate');

-- CreateTable: one account per platform per user; a username names one user per platform.
CREATE TABLE "external_identities" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "platform" "ExternalPlatform" NOT NULL,
    "username" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "external_identities_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "external_identities_platform_username_key" ON "external_identities"("platform", "username");
CREATE UNIQUE INDEX "external_identities_user_id_platform_key" ON "external_identities"("user_id", "platform");
ALTER TABLE "external_identities" ADD CONSTRAINT "external_identities_user_id_fkey"
    FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- CreateTable: openai's api_key is sealed (encrypted_api_key); tollgate names a key of the user.
CREATE TABLE "llm_profiles" (
    "user_id" UUID NOT NULL,
    "provider" "LlmProvider" NOT NULL,
    "function_calling" BOOLEAN NOT NULL DEFAULT true,
    "system_prompt" TEXT NOT NULL DEFAULT '',
    "max_llm_process_num" INTEGER NOT NULL DEFAULT 1000,
    "settings" JSONB NOT NULL DEFAULT '{}',
    "encrypted_api_key" TEXT,
    "api_key_id" UUID,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "llm_profiles_pkey" PRIMARY KEY ("user_id")
);
CREATE INDEX "llm_profiles_api_key_id_idx" ON "llm_profiles"("api_key_id");
ALTER TABLE "llm_profiles" ADD CONSTRAINT "llm_profiles_user_id_fkey"
    FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "llm_profiles" ADD CONSTRAINT "llm_profiles_api_key_id_fkey"
    FOREIGN KEY ("api_key_id") REFERENCES "api_keys"("id") ON DELETE SET NULL ON UPDATE CASCADE;
