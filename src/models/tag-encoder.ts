// The encoder for attribute tags (HW3-2): tag text ("blue hair red eyes") or a record's
// attributes → the per-attribute one-hot condition [B, nHair + nEyes], plus the class indices
// ACGAN's auxiliary classifiers are trained on. One-hot per attribute rather than one id per
// (hair, eyes) pair, so combinations absent from the training data can still be asked for.
import { tensor, type Device, type Tensor } from '../engine/index.js';
import { TagVocabulary, type TagInput } from '../text/index.js';

export class TagEncoder {
  constructor(readonly vocabulary: TagVocabulary = TagVocabulary.known()) {}

  get dim(): number {
    return this.vocabulary.size;
  }

  /** Sizes of the attribute classifiers: [hair colours, eye colours]. */
  get classes(): number[] {
    return [this.vocabulary.nHair, this.vocabulary.nEyes];
  }

  encode(tags: readonly TagInput[], device: Device = 'cpu'): Tensor {
    return this.vocabulary.oneHot(tags, { device });
  }

  /** int64 [B] hair and eye indices, for the auxiliary classifiers. */
  labels(tags: readonly TagInput[], device: Device = 'cpu'): [Tensor, Tensor] {
    const e = tags.map((t) => this.vocabulary.encode(t));
    return [
      tensor(
        BigInt64Array.from(e, (x) => BigInt(x.hair)),
        { device },
      ),
      tensor(
        BigInt64Array.from(e, (x) => BigInt(x.eyes)),
        { device },
      ),
    ];
  }

  /**
   * The assignment's colours ∪ those in the data, sorted: every testing tag has a slot even if
   * the data lacks it, and models trained on the same data share indices.
   */
  static vocabularyFor(records: Iterable<{ attributes?: { [name: string]: string } }>): TagVocabulary {
    const known = TagVocabulary.known();
    const inData = TagVocabulary.fromRecords(records);
    const hair = [...new Set([...known.hair, ...inData.hair])].sort();
    const eyes = [...new Set([...known.eyes, ...inData.eyes])].sort();
    return new TagVocabulary(hair, eyes);
  }

  toJSON(): unknown {
    return this.vocabulary.toJSON();
  }
}
