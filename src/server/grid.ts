// The HW3-2 grid's input: an assignment testing_tags.txt, `id,<colour> hair <colour> eyes` per line.
import { TagError, parseTagsFile, tagText } from '../text/index.js';
import { badRequest } from './errors.js';

export const MAX_GRID_LINES = 100;

/** One caption per tag line; a file the grid cannot draw is the client's error (400). */
export function gridCaptions(tags: string): string[] {
  let captions: string[];
  try {
    captions = parseTagsFile(tags).map(tagText);
  } catch (e) {
    throw e instanceof TagError ? badRequest(e.message) : e;
  }
  if (captions.length === 0) throw badRequest('the tags file has no tag lines');
  if (captions.length > MAX_GRID_LINES)
    throw badRequest(`the tags file has ${captions.length} lines; at most ${MAX_GRID_LINES} are drawn`);
  return captions;
}
