// JSON schemas of the API: Fastify validates every request against them before a handler runs
// (unknown fields and wrong types are refused, not coerced) and they make the OpenAPI document.

export const MAX_TEXT = 500;
export const MAX_COUNT = 16;
export const MAX_STEPS = 16;
export const MAX_SEED = 2 ** 32 - 1;

const modelName = {
  type: 'string',
  minLength: 1,
  maxLength: 64,
  description: 'A name from GET /api/models',
} as const;
const text = (description: string) => ({ type: 'string', minLength: 1, maxLength: MAX_TEXT, description }) as const;
const seed = {
  type: 'integer',
  minimum: 0,
  maximum: MAX_SEED,
  description: 'Noise seed; random when left out, always returned. Same seed + text + model = same images.',
} as const;
const truncation = {
  type: 'number',
  exclusiveMinimum: 0,
  maximum: 4,
  description: 'Truncation trick: draw the noise from N(0,1) cut to [-t, t]; smaller is less varied',
} as const;
const error = {
  type: 'object',
  properties: { statusCode: { type: 'integer' }, error: { type: 'string' }, message: { type: 'string' } },
} as const;
const stages = {
  type: 'array',
  description: 'Every stage the model has, smallest first; images as PNG data URLs',
  items: {
    type: 'object',
    properties: {
      resolution: { type: 'integer' },
      images: { type: 'array', items: { type: 'string' } },
    },
  },
} as const;
const timings = {
  type: 'object',
  properties: { queueMs: { type: 'number' }, generateMs: { type: 'number' } },
} as const;
const words = {
  type: 'array',
  items: { type: 'string' },
  description: 'Words of the text the model has never seen (they were ignored)',
} as const;
const errors = { 400: error, 404: error, 413: error, 415: error, 503: error } as const;

export const modelsSchema = {
  summary: 'Every model this server can run',
  response: {
    200: {
      type: 'object',
      properties: {
        models: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              name: { type: 'string' },
              title: { type: 'string' },
              family: { type: 'string' },
              dataset: { type: 'string' },
              description: { type: 'string' },
              condition: { type: 'string', enum: ['caption', 'tags'] },
              resolutions: { type: 'array', items: { type: 'integer' } },
              examples: { type: 'array', items: { type: 'string' } },
              metrics: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { name: { type: 'string' }, value: { type: 'string' }, detail: { type: 'string' } },
                },
              },
              training: { type: 'object', additionalProperties: { type: ['string', 'number'] } },
              attention: {
                type: 'boolean',
                description: 'Whether the model attends to words (AttnGAN): POST /api/attention shows where',
              },
              loaded: { type: 'boolean' },
            },
          },
        },
      },
    },
  },
} as const;

export const generateSchema = {
  summary: 'Images for a caption (or tag text) from one model',
  body: {
    type: 'object',
    required: ['model', 'text'],
    additionalProperties: false,
    properties: {
      model: modelName,
      text: text('The caption ("this bird is red with white…") or tags ("blue hair red eyes")'),
      seed,
      count: { type: 'integer', minimum: 1, maximum: MAX_COUNT, default: 1, description: 'Images to draw' },
      truncation,
    },
  },
  response: {
    200: {
      type: 'object',
      properties: {
        model: { type: 'string' },
        text: { type: 'string' },
        seed: { type: 'integer' },
        count: { type: 'integer' },
        truncation: { type: ['number', 'null'] },
        stages,
        unknownWords: words,
        timings,
        batchImages: { type: 'integer', description: 'Images made in the same forward pass' },
      },
    },
    ...errors,
  },
} as const;

export const interpolateSchema = {
  summary: 'Manifold interpolation between two captions (GAN-INT), the same noise throughout',
  body: {
    type: 'object',
    required: ['model', 'from', 'to'],
    additionalProperties: false,
    properties: {
      model: modelName,
      from: text('The first caption'),
      to: text('The last caption'),
      steps: { type: 'integer', minimum: 2, maximum: MAX_STEPS, default: 8 },
      seed,
      truncation,
    },
  },
  response: {
    200: {
      type: 'object',
      properties: {
        model: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        steps: { type: 'integer' },
        seed: { type: 'integer' },
        stages,
        unknownWords: {
          type: 'object',
          properties: { from: words, to: words },
        },
        timings,
      },
    },
    ...errors,
  },
} as const;

export const attentionSchema = {
  summary: "AttnGAN's word attention: one image, and per attentional stage the image lit by each word's map",
  body: {
    type: 'object',
    required: ['model', 'text'],
    additionalProperties: false,
    properties: {
      model: { ...modelName, description: 'A model from GET /api/models with attention: true' },
      text: text('The caption; its words, as the model reads them, get one map each'),
      seed,
      truncation,
    },
  },
  response: {
    200: {
      type: 'object',
      properties: {
        model: { type: 'string' },
        text: { type: 'string' },
        seed: { type: 'integer' },
        truncation: { type: ['number', 'null'] },
        words: {
          type: 'array',
          items: { type: 'string' },
          description: 'The words the maps are for, in order (words the model does not know as written)',
        },
        stages: {
          type: 'array',
          description: 'The image at every stage, smallest first, as PNG data URLs',
          items: {
            type: 'object',
            properties: { resolution: { type: 'integer' }, image: { type: 'string' } },
          },
        },
        attention: {
          type: 'array',
          description:
            'Per attentional stage, smallest first: the image of that resolution lit where each word looks ' +
            '(one PNG data URL per word, in the order of words)',
          items: {
            type: 'object',
            properties: {
              resolution: { type: 'integer' },
              maps: { type: 'array', items: { type: 'string' } },
            },
          },
        },
        unknownWords: words,
        timings,
      },
    },
    ...errors,
  },
} as const;

export const gridSchema = {
  summary: 'The HW3-2 grid: one image per line of a testing_tags.txt, as one PNG',
  body: {
    type: 'object',
    required: ['model', 'tags'],
    additionalProperties: false,
    properties: {
      model: modelName,
      tags: { type: 'string', minLength: 1, maxLength: 16_384, description: 'id,<colour> hair <colour> eyes per line' },
      seed: { ...seed, description: 'Noise seed (default 42)' },
    },
  },
  response: { 200: { type: 'string', format: 'binary', description: 'image/png' }, ...errors },
} as const;

export const roundSchema = {
  summary: 'Real or Fake? One image, real or generated; the answer comes with the guess',
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: { model: { ...modelName, description: 'Play one model (default: any playable model)' } },
  },
  response: {
    200: {
      type: 'object',
      properties: { id: { type: 'string' }, dataset: { type: 'string' }, image: { type: 'string' } },
    },
    ...errors,
  },
} as const;

const tally = {
  type: 'object',
  properties: {
    model: { type: 'string' },
    fakes: { type: 'integer' },
    fooled: { type: 'integer' },
    reals: { type: 'integer' },
    realsCalledFake: { type: 'integer' },
    foolRate: { type: ['number', 'null'] },
  },
} as const;

export const guessSchema = {
  summary: 'Answer a Real or Fake round',
  body: {
    type: 'object',
    required: ['id', 'guess'],
    additionalProperties: false,
    properties: {
      id: { type: 'string', minLength: 1, maxLength: 64 },
      guess: { type: 'string', enum: ['real', 'fake'] },
    },
  },
  response: {
    200: {
      type: 'object',
      properties: {
        correct: { type: 'boolean' },
        truth: { type: 'string' },
        model: { type: 'string' },
        tally,
      },
    },
    ...errors,
  },
} as const;

export const gameStatsSchema = {
  summary: 'Fool rate per model: generated images taken for real',
  response: {
    200: {
      type: 'object',
      properties: { playable: { type: 'array', items: { type: 'string' } }, tallies: { type: 'array', items: tally } },
    },
  },
} as const;
