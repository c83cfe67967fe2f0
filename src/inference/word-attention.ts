// Which models have word-attention maps, and the one sentence for asking one that has none: the
// pipeline and the model card decide by the same rule, and the HTTP layer answers 400 with the
// sentence. A module of its own so the server can read it without loading libtorch (the scheduler
// process never does).

/**
 * Whether a model of this family with this many stages has word-attention maps: AttnGAN's stages
 * above the first read the words; its 64 px tree alone (the first step of growing it) has none.
 */
export const hasWordAttention = (family: string, stages: number): boolean => family === 'attngan' && stages > 1;

/** Why `model` has no word-attention maps to give. */
export const noWordAttention = (model: string): string =>
  `${model} has no word attention (only AttnGAN's stages above the first have it)`;
