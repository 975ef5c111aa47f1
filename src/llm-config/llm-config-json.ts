/** `llm_config.openai` (docs/api/llm-config.md "Fields"). `max_token`: tokens. */
export interface OpenAiConfigJson {
  api_key: string;
  base_url: string;
  model: string;
  max_token: number;
}

/** `llm_config.lmstudio`. `context_length`: tokens. */
export interface LmStudioConfigJson {
  base_url: string;
  context_length: number;
  model: string;
}

/** `llm_config.ollama`. `max_token`: tokens. */
export interface OllamaConfigJson {
  endpoint: string;
  model: string;
  max_token: number;
}

/** `llm_config`: the provider the agent calls and its settings; the other two providers are null. */
export interface LlmConfigJson {
  /** a `tollgate` profile answers `openai` (pointing at this gateway) */
  provider: 'openai' | 'lmstudio' | 'ollama';
  function_calling: boolean;
  openai: OpenAiConfigJson | null;
  lmstudio: LmStudioConfigJson | null;
  ollama: OllamaConfigJson | null;
}

/** `data` of GET /v1/users/:platform/:username/llm-config, and one element of a batch's `configs`. */
export interface LlmConfigData {
  /** `platform:username` */
  user_id: string;
  platform: 'github' | 'gitlab';
  username: string;
  llm_config: LlmConfigJson;
  /** absent when `include_system_prompt=false` */
  system_prompt?: string;
  /** most LLM round trips an agent's task may make */
  max_llm_process_num: number;
  /** ISO-8601 (UTC) of the profile */
  created_at: string;
  updated_at: string;
}

/** `data` of POST /v1/users/llm-configs/batch. */
export interface LlmConfigBatchData {
  configs: LlmConfigData[];
  /** user_id (`platform:username`) of every user asked for that has no identity or no usable profile */
  not_found: string[];
}

/** Success envelope of the LLM config API. */
export interface LlmConfigEnvelope<T> {
  status: 'success';
  data: T;
}
