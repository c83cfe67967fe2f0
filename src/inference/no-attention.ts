// The one sentence for asking a model without word attention for its maps: the library throws it and
// the HTTP layer answers 400 with it. A module of its own so the server can word its error without
// loading libtorch (the scheduler process never does).

/** Why `model` has no word-attention maps to give. */
export const noWordAttention = (model: string): string =>
  `${model} has no word attention (only AttnGAN's stages above the first have it)`;
