// Where a conditional GAN's condition vector comes from: a frozen DAMSM sentence encoder for
// captions (the role of Reed et al.'s pre-trained char-CNN-RNN), or one-hot attribute tags.
// Both are saved inside the GAN's checkpoints so that sampling needs nothing else.
import { noGrad, type Device, type Tensor } from '../engine/index.js';
import type { Module } from '../nn/index.js';
import { PAD_ID, TagVocabulary, UNK_ID, Vocabulary, type TagInput } from '../text/index.js';
import type { TextFeatures } from './stackganpp/tree.js';
import { DamsmTextEncoder, type DamsmTextEncoderOptions } from './damsm/index.js';
import { TagEncoder } from './tag-encoder.js';

export interface ConditionInput {
  captions: readonly string[];
  /** Record attributes when known (tags); otherwise the captions are read as tag text. */
  attributes?: readonly ({ [name: string]: string } | undefined)[];
}

export interface Conditioner {
  readonly kind: 'damsm' | 'tags';
  readonly dim: number;
  /** [B, dim] on `device`, no gradient (the encoder is frozen). */
  encode(input: ConditionInput, device: Device): Tensor;
  /** The frozen network to store in checkpoints (none for tags). */
  readonly module: Module | null;
  /** Strings that rebuild this conditioner with fromMetadata(). */
  metadata(): Record<string, string>;
  /**
   * What encode() would make of a caption: the words it does not know, and an error message when it
   * cannot encode the caption at all. Never throws, so a server can reject one bad request of a batch.
   */
  check(caption: string): { unknownWords: string[]; error?: string };
}

export class TagConditioner implements Conditioner {
  readonly kind = 'tags';
  readonly module = null;
  /**
   * @param inData the colours the training faces have (null: not recorded, for models from before
   *   it was). A colour of the vocabulary that no training face has (HW3-2's gray eyes) cannot be
   *   drawn: check() refuses it.
   */
  constructor(
    readonly encoder: TagEncoder,
    readonly inData: TagVocabulary | null = null,
  ) {}
  get dim(): number {
    return this.encoder.dim;
  }
  tags(input: ConditionInput): TagInput[] {
    return input.captions.map((c, i) => {
      const a = input.attributes?.[i];
      return a?.hair !== undefined && a.eyes !== undefined ? { hair: a.hair, eyes: a.eyes } : c;
    });
  }
  encode(input: ConditionInput, device: Device): Tensor {
    return this.encoder.encode(this.tags(input), device);
  }
  check(caption: string): { unknownWords: string[]; error?: string } {
    const vocab = this.encoder.vocabulary;
    const unknownWords = vocab.parse(caption).unknown;
    let tags: { hair: string; eyes: string };
    try {
      tags = vocab.attributes(caption);
    } catch (e) {
      return { unknownWords, error: (e as Error).message };
    }
    const d = this.inData;
    if (d !== null)
      for (const a of ['hair', 'eyes'] as const)
        if (!d[a].includes(tags[a]))
          return {
            unknownWords,
            error:
              `no face this model was trained on has ${tags[a]} ${a}, so it cannot draw them; ` +
              `it knows ${a === 'hair' ? 'hair' : 'eye'} colours ${d[a].join(', ')}`,
          };
    return { unknownWords };
  }
  metadata(): Record<string, string> {
    return {
      condition: 'tags',
      tags: JSON.stringify(this.encoder.toJSON()),
      ...(this.inData ? { tagsInData: JSON.stringify(this.inData.toJSON()) } : {}),
    };
  }

  /** For a recipe: the tag vocabulary, and the colours of the training split's faces. */
  static forTraining(records: readonly { attributes?: { [name: string]: string }; split?: string }[]): TagConditioner {
    const train = records.filter((r) => r.split === undefined || r.split === 'train');
    return new TagConditioner(new TagEncoder(TagEncoder.vocabularyFor(records)), TagVocabulary.fromRecords(train));
  }
}

export class DamsmConditioner implements Conditioner {
  readonly kind = 'damsm';
  constructor(
    readonly vocabulary: Vocabulary,
    readonly module: DamsmTextEncoder,
    readonly options: DamsmTextEncoderOptions,
  ) {
    module.eval().requiresGrad_(false);
  }
  get dim(): number {
    return this.module.hiddenSize;
  }
  /** A caption with no word the model knows (only unknown words, or emoji and punctuation) is an error. */
  check(caption: string): { unknownWords: string[]; error?: string } {
    const e = this.vocabulary.encode(caption);
    const known = e.ids.some((id) => id !== UNK_ID);
    if (known) return { unknownWords: e.unknown };
    return {
      unknownWords: e.unknown,
      error:
        e.unknown.length > 0
          ? `the model knows none of the words of this caption (${e.unknown.join(', ')}): describe the bird in English`
          : 'the caption has no words, only symbols or punctuation: describe the bird in English',
    };
  }
  encode(input: ConditionInput, device: Device): Tensor {
    return noGrad(() => {
      const { ids, lengths } = this.vocabulary.encodeBatch(input.captions, { device });
      try {
        const { words, sentence } = this.module.forward(ids, lengths);
        words.dispose();
        return sentence;
      } finally {
        ids.dispose();
        lengths.dispose();
      }
    });
  }
  /**
   * Sentence and word features of captions with the padding mask and each caption's length, for
   * generators that attend to words (AttnGAN) and for the DAMSM loss.
   */
  encodeText(
    captions: readonly string[],
    device: Device,
  ): TextFeatures & { words: Tensor; mask: Tensor; lengths: number[] } {
    return noGrad(() => {
      const { ids, lengths } = this.vocabulary.encodeBatch(captions, { device });
      try {
        const { words, sentence } = this.module.forward(ids, lengths);
        const lens = Array.from(lengths.toTypedArray() as BigInt64Array, Number);
        return { sentence, words, mask: ids.eq(PAD_ID), lengths: lens };
      } finally {
        ids.dispose();
        lengths.dispose();
      }
    });
  }
  metadata(): Record<string, string> {
    return {
      condition: 'damsm',
      vocabulary: JSON.stringify(this.vocabulary.toJSON()),
      textEncoder: JSON.stringify(this.options),
    };
  }
}

/**
 * Rebuilds a conditioner from checkpoint metadata; a DAMSM encoder's weights are then loaded by
 * the caller (under the checkpoint's `text.` prefix).
 */
export function conditionerFromMetadata(meta: Record<string, string>): Conditioner {
  if (meta.condition === 'tags')
    return new TagConditioner(
      new TagEncoder(TagVocabulary.fromJSON(JSON.parse(meta.tags ?? 'null'))),
      meta.tagsInData === undefined ? null : TagVocabulary.fromJSON(JSON.parse(meta.tagsInData)),
    );
  if (meta.condition === 'damsm') {
    const vocabulary = Vocabulary.fromJSON(JSON.parse(meta.vocabulary ?? 'null'));
    const options = JSON.parse(meta.textEncoder ?? 'null') as DamsmTextEncoderOptions;
    return new DamsmConditioner(vocabulary, new DamsmTextEncoder(options), options);
  }
  throw new Error(`the checkpoint does not say how its condition is encoded (condition: ${String(meta.condition)})`);
}
