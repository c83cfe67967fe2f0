// The HTTP contract, written once: each TypeBox definition below is a JSON schema that Fastify
// validates requests against (unknown fields and wrong types are refused, not coerced), serializes
// responses with and publishes as OpenAPI, and a static type (`Type.Static`) that the routes, the
// generation service and the web page (type-only, web/src/api.ts) all use.
import Type from 'typebox';

export const MAX_TEXT = 500;
export const MAX_COUNT = 16;
export const MAX_STEPS = 16;
export const MAX_SEED = 2 ** 32 - 1;
/** Invert: optimisation steps and starting points (their product bounds the cost of a request). */
export const MAX_INVERT_STEPS = 300;
export const MAX_INVERT_STARTS = 4;
/** Uploads: the encoded file, and its pixels (a bigger image is refused before it is decoded). */
export const MAX_UPLOAD_BYTES = 4 * 1024 * 1024;
export const MAX_UPLOAD_PIXELS = 4096 * 4096;

// ---- pieces -------------------------------------------------------------------------------------

const modelName = (description = 'A name from GET /api/models') =>
  Type.String({ minLength: 1, maxLength: 64, description });
const Text = (description: string) => Type.String({ minLength: 1, maxLength: MAX_TEXT, description });
const seed = (
  description = 'Noise seed; random when left out, always returned. Same seed + text + model = same images.',
) => Type.Integer({ minimum: 0, maximum: MAX_SEED, description });
const Truncation = Type.Number({
  exclusiveMinimum: 0,
  maximum: 4,
  description: 'Truncation trick: draw the noise from N(0,1) cut to [-t, t]; smaller is less varied',
});
const Latent = Type.String({
  minLength: 4,
  maxLength: 8192,
  pattern: '^z1\\.[A-Za-z0-9_-]+$',
  description: 'A latent token (from POST /api/invert, or any reply with a latent): the noise itself, self-contained',
});
const Directions = Type.Record(Type.String({ maxLength: 64 }), Type.Number(), {
  maxProperties: 8,
  description:
    'Attribute directions and their strengths: "hair:blue": 0.5 blends the hair toward blue (0–1, tag models); ' +
    '"noise:hair:blue": 2 moves the noise along a direction found with the attribute classifier (range on the model)',
});
const Psi = Type.Number({
  exclusiveMinimum: 0,
  maximum: 1,
  description: 'Truncation trick on the latent: z·ψ, toward the average face (1 = unchanged)',
});
const ErrorReply = Type.Object({ statusCode: Type.Integer(), error: Type.String(), message: Type.String() });
const errors = {
  400: ErrorReply,
  404: ErrorReply,
  413: ErrorReply,
  415: ErrorReply,
  429: ErrorReply,
  503: ErrorReply,
};

export const Stage = Type.Object({
  resolution: Type.Integer(),
  /** PNG data URLs. */
  images: Type.Array(Type.String()),
});
export type Stage = Type.Static<typeof Stage>;
const Stages = Type.Array(Stage, { description: 'Every stage the model has, smallest first; images as PNG data URLs' });

export const Timings = Type.Object({ queueMs: Type.Number(), generateMs: Type.Number() });
export type Timings = Type.Static<typeof Timings>;

const Words = Type.Array(Type.String(), {
  description: 'Words of the text the model has never seen (they were ignored)',
});

// ---- models -------------------------------------------------------------------------------------

export const Metric = Type.Object({ name: Type.String(), value: Type.String(), detail: Type.Optional(Type.String()) });
export type Metric = Type.Static<typeof Metric>;

export const ModelInfo = Type.Object({
  name: Type.String(),
  title: Type.String(),
  family: Type.String(),
  dataset: Type.String(),
  description: Type.String(),
  condition: Type.Union([Type.Literal('caption'), Type.Literal('tags')], {
    description: 'What the text box holds for this model',
  }),
  resolutions: Type.Array(Type.Integer(), { description: 'Image side of every stage, smallest first' }),
  examples: Type.Array(Type.String()),
  metrics: Type.Array(Metric),
  training: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number()])),
  attention: Type.Boolean({
    description: 'Whether the model attends to words (AttnGAN): POST /api/attention shows where',
  }),
  invert: Type.Boolean({ description: 'Whether POST /api/invert finds latents of uploaded images in this model' }),
  default: Type.Boolean({
    description: 'Whether the page opens on this model (its card says so); the first such model when several do',
  }),
  directions: Type.Array(
    Type.Object({
      name: Type.String(),
      attribute: Type.String(),
      value: Type.String(),
      min: Type.Number(),
      max: Type.Number(),
    }),
    { description: 'Attribute directions the generate routes take (see GenerateBody.directions)' },
  ),
  loaded: Type.Boolean({ description: 'Whether the model is in memory now (the first request loads it)' }),
});
export type ModelInfo = Type.Static<typeof ModelInfo>;

export const ModelsReply = Type.Object({ models: Type.Array(ModelInfo) });
export type ModelsReply = Type.Static<typeof ModelsReply>;

export const modelsSchema = { summary: 'Every model this server can run', response: { 200: ModelsReply } };

// ---- generate -----------------------------------------------------------------------------------

export const GenerateBody = Type.Object(
  {
    model: modelName(),
    text: Text('The caption ("this bird is red with white…") or tags ("blue hair red eyes")'),
    seed: Type.Optional(seed()),
    count: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_COUNT, default: 1, description: 'Images to draw' })),
    truncation: Type.Optional(Truncation),
    latent: Type.Optional(Latent),
    directions: Type.Optional(Directions),
    psi: Type.Optional(Psi),
  },
  { additionalProperties: false },
);
export type GenerateBody = Type.Static<typeof GenerateBody>;

export const GenerateReply = Type.Object({
  model: Type.String(),
  text: Type.String(),
  seed: Type.Integer(),
  count: Type.Integer(),
  truncation: Type.Union([Type.Number(), Type.Null()]),
  latent: Type.Union([Type.String(), Type.Null()], {
    description: 'The latent token of the first image (before directions and ψ), to edit it later',
  }),
  directions: Type.Record(Type.String(), Type.Number()),
  psi: Type.Union([Type.Number(), Type.Null()]),
  stages: Stages,
  unknownWords: Words,
  timings: Timings,
  batchImages: Type.Integer({ description: 'Images made in the same forward pass' }),
});
export type GenerateReply = Type.Static<typeof GenerateReply>;

export const generateSchema = {
  summary: 'Images for a caption (or tag text) from one model',
  body: GenerateBody,
  response: { 200: GenerateReply, ...errors },
};

// ---- interpolate --------------------------------------------------------------------------------

export const InterpolateBody = Type.Object(
  {
    model: modelName(),
    from: Text('The first caption'),
    to: Text('The last caption'),
    steps: Type.Optional(Type.Integer({ minimum: 2, maximum: MAX_STEPS, default: 8 })),
    seed: Type.Optional(seed()),
    truncation: Type.Optional(Truncation),
  },
  { additionalProperties: false },
);
export type InterpolateBody = Type.Static<typeof InterpolateBody>;

export const InterpolateReply = Type.Object({
  model: Type.String(),
  from: Type.String(),
  to: Type.String(),
  steps: Type.Integer(),
  seed: Type.Integer(),
  truncation: Type.Union([Type.Number(), Type.Null()]),
  stages: Stages,
  unknownWords: Type.Object({ from: Words, to: Words }),
  timings: Timings,
});
export type InterpolateReply = Type.Static<typeof InterpolateReply>;

export const interpolateSchema = {
  summary: 'Manifold interpolation between two captions (GAN-INT), the same noise throughout',
  body: InterpolateBody,
  response: { 200: InterpolateReply, ...errors },
};

// ---- attention ----------------------------------------------------------------------------------

export const AttentionBody = Type.Object(
  {
    model: modelName('A model from GET /api/models with attention: true'),
    text: Text('The caption; its words, as the model reads them, get one map each'),
    seed: Type.Optional(seed()),
    truncation: Type.Optional(Truncation),
  },
  { additionalProperties: false },
);
export type AttentionBody = Type.Static<typeof AttentionBody>;

export const AttentionReply = Type.Object({
  model: Type.String(),
  text: Type.String(),
  seed: Type.Integer(),
  truncation: Type.Union([Type.Number(), Type.Null()]),
  words: Type.Array(Type.String(), {
    description: 'The words the maps are for, in order (words the model does not know as written)',
  }),
  stages: Type.Array(Type.Object({ resolution: Type.Integer(), image: Type.String() }), {
    description: 'The image at every stage, smallest first, as PNG data URLs',
  }),
  attention: Type.Array(Type.Object({ resolution: Type.Integer(), maps: Type.Array(Type.String()) }), {
    description:
      'Per attentional stage, smallest first: the image of that resolution lit where each word looks ' +
      '(one PNG data URL per word, in the order of words)',
  }),
  unknownWords: Words,
  timings: Timings,
});
export type AttentionReply = Type.Static<typeof AttentionReply>;

export const attentionSchema = {
  summary: "AttnGAN's word attention: one image, and per attentional stage the image lit by each word's map",
  body: AttentionBody,
  response: { 200: AttentionReply, ...errors },
};

// ---- image → latent -----------------------------------------------------------------------------

export const InvertBody = Type.Object(
  {
    model: modelName('A model from GET /api/models with invert: true'),
    text: Text('What the image shows, as the model reads it ("blue hair red eyes")'),
    image: Type.String({
      minLength: 1,
      maxLength: Math.ceil((MAX_UPLOAD_BYTES * 4) / 3) + 64,
      description: 'The image, PNG or JPEG (at most 4 MiB, 4096×4096), base64 or a data URL; scaled and centre-cropped',
    }),
    steps: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_INVERT_STEPS, default: 100 })),
    starts: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_INVERT_STARTS, default: 4 })),
    seed: Type.Optional(seed('Seed of the starting points (default 0)')),
  },
  { additionalProperties: false },
);
export type InvertBody = Type.Static<typeof InvertBody>;

export const InvertReply = Type.Object({
  model: Type.String(),
  text: Type.String(),
  latent: Latent,
  z: Type.Array(Type.Number(), { description: 'The same latent as numbers' }),
  mse: Type.Number({ description: 'Mean squared error of the reconstruction on [-1, 1] pixels' }),
  psnrDb: Type.Number(),
  target: Type.String({ description: 'The image as the model saw it (scaled, cropped), PNG data URL' }),
  reconstruction: Type.String({ description: "The latent's image under the text, PNG data URL" }),
  unknownWords: Words,
  timings: Timings,
});
export type InvertReply = Type.Static<typeof InvertReply>;

export const invertSchema = {
  summary: 'Image → latent: the noise whose image, under the text, is closest to an uploaded image',
  body: InvertBody,
  response: { 200: InvertReply, ...errors },
};

// ---- the HW3-2 grid -----------------------------------------------------------------------------

export const GridBody = Type.Object(
  {
    model: modelName(),
    tags: Type.String({ minLength: 1, maxLength: 16_384, description: 'id,<colour> hair <colour> eyes per line' }),
    seed: Type.Optional(seed('Noise seed (default 42)')),
  },
  { additionalProperties: false },
);
export type GridBody = Type.Static<typeof GridBody>;

export const gridSchema = {
  summary: 'The HW3-2 grid: one image per line of a testing_tags.txt, as one PNG',
  body: GridBody,
  response: { 200: Type.String({ format: 'binary', description: 'image/png' }), ...errors },
};

// ---- jobs: queue now, poll for position, progress and the result, or cancel ----------------------

export const JobParams = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$', description: 'From POST /api/jobs/…' }),
  },
  { additionalProperties: false },
);
export type JobParams = Type.Static<typeof JobParams>;

export const JobStatus = Type.Object({
  id: Type.String(),
  kind: Type.Union([
    Type.Literal('generate'),
    Type.Literal('interpolate'),
    Type.Literal('attention'),
    Type.Literal('grid'),
    Type.Literal('invert'),
  ]),
  model: Type.String(),
  state: Type.Union(
    [
      Type.Literal('queued'),
      Type.Literal('running'),
      Type.Literal('done'),
      Type.Literal('failed'),
      Type.Literal('cancelled'),
    ],
    { description: 'queued → running → done, or failed / cancelled' },
  ),
  position: Type.Integer({ description: "Other clients' jobs that run before this one's next part (0 once running)" }),
  done: Type.Integer({ description: 'Images finished' }),
  total: Type.Integer({ description: 'Images in all' }),
  etaMs: Type.Number({ description: 'Estimated milliseconds until done, from the measured speed of each model' }),
  error: Type.Optional(
    Type.Object({ statusCode: Type.Integer(), message: Type.String() }, { description: 'Why it failed' }),
  ),
  result: Type.Optional(
    Type.Union([GenerateReply, InterpolateReply, AttentionReply, InvertReply], {
      description: 'Once done: what the synchronous route for this kind answers',
    }),
  ),
});
export type JobStatus = Type.Static<typeof JobStatus>;

export const generateJobSchema = {
  summary: 'Queue images for a caption; answers at once with a job to poll (GET /api/jobs/{id}) or cancel',
  body: GenerateBody,
  response: { 202: JobStatus, ...errors },
};
export const interpolateJobSchema = {
  summary: 'Queue an interpolation; answers at once with a job to poll or cancel',
  body: InterpolateBody,
  response: { 202: JobStatus, ...errors },
};
export const attentionJobSchema = {
  summary: "Queue AttnGAN's word attention; answers at once with a job to poll or cancel",
  body: AttentionBody,
  response: { 202: JobStatus, ...errors },
};
export const invertJobSchema = {
  summary: 'Queue an image → latent search; answers at once with a job to poll (progress: steps) or cancel',
  body: InvertBody,
  response: { 202: JobStatus, ...errors },
};
export const jobSchema = {
  summary: "A job's state, queue position, progress and ETA; its result once done (kept 5 minutes)",
  params: JobParams,
  response: { 200: JobStatus, 400: ErrorReply, 404: ErrorReply },
};
export const cancelJobSchema = {
  summary: 'Cancel a queued or running job (what it has made is thrown away)',
  params: JobParams,
  response: { 200: JobStatus, 400: ErrorReply, 404: ErrorReply },
};

// ---- Real or Fake? ------------------------------------------------------------------------------

export const RoundQuery = Type.Object(
  { model: Type.Optional(modelName('Play one model (default: any playable model)')) },
  { additionalProperties: false },
);
export type RoundQuery = Type.Static<typeof RoundQuery>;

export const Round = Type.Object({ id: Type.String(), dataset: Type.String(), image: Type.String() });
export type Round = Type.Static<typeof Round>;

export const roundSchema = {
  summary: 'Real or Fake? One image, real or generated; the answer comes with the guess',
  querystring: RoundQuery,
  response: { 200: Round, ...errors, 429: ErrorReply },
};

export const Tally = Type.Object({
  model: Type.String(),
  fakes: Type.Integer(),
  fooled: Type.Integer(),
  reals: Type.Integer(),
  realsCalledFake: Type.Integer(),
  guesses: Type.Integer({ description: 'The guesses the tally rests on (fakes + reals)' }),
  foolRate: Type.Union([Type.Number(), Type.Null()]),
});
export type Tally = Type.Static<typeof Tally>;

export const GuessBody = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 64 }),
    guess: Type.Union([Type.Literal('real'), Type.Literal('fake')]),
  },
  { additionalProperties: false },
);
export type GuessBody = Type.Static<typeof GuessBody>;

export const GuessResult = Type.Object({
  correct: Type.Boolean(),
  truth: Type.Union([Type.Literal('real'), Type.Literal('fake')]),
  model: Type.String(),
  tally: Tally,
});
export type GuessResult = Type.Static<typeof GuessResult>;

export const guessSchema = {
  summary: 'Answer a Real or Fake round (from the player it was dealt to: the cai_player cookie)',
  body: GuessBody,
  response: { 200: GuessResult, ...errors, 403: ErrorReply },
};

export const GameStats = Type.Object({ playable: Type.Array(Type.String()), tallies: Type.Array(Tally) });
export type GameStats = Type.Static<typeof GameStats>;

export const gameStatsSchema = {
  summary: 'Fool rate per model: generated images taken for real',
  response: { 200: GameStats },
};
