/**
 * Rendering of SAS bytes for people to compare (docs/protocol.md "Verification: safety numbers and SAS"),
 * exactly as Matrix does it (Client-Server API, "Short Authentication String (SAS) verification"):
 *   emoji:   the first 42 bits as 7 groups of 6 bits, each an index into Matrix's 64-emoji table
 *   decimal: the first 39 bits as 3 groups of 13 bits, each + 1000 → three numbers 1000..9191
 * The table is Matrix's data-definitions/sas-emoji.json (numbers 0..63, emoji and English description),
 * kept so a Compeer SAS reads the same as in any Matrix client.
 * This module knows nothing of how the bytes were derived (sas.ts) or of the UI.
 */
import { assertBytes } from '../../lib/assert.ts';
import { SAS_BYTES } from '../wire/constants.ts';

export interface SasEmoji {
  readonly index: number;
  readonly emoji: string;
  readonly name: string;
}

/** Matrix's SAS emoji table, index = 6-bit value. Emoji written as code points (some carry U+FE0F). */
const TABLE: readonly (readonly [string, string])[] = [
  ['\u{1F436}', 'Dog'], //  0 🐶
  ['\u{1F431}', 'Cat'], //  1 🐱
  ['\u{1F981}', 'Lion'], //  2 🦁
  ['\u{1F40E}', 'Horse'], //  3 🐎
  ['\u{1F984}', 'Unicorn'], //  4 🦄
  ['\u{1F437}', 'Pig'], //  5 🐷
  ['\u{1F418}', 'Elephant'], //  6 🐘
  ['\u{1F430}', 'Rabbit'], //  7 🐰
  ['\u{1F43C}', 'Panda'], //  8 🐼
  ['\u{1F413}', 'Rooster'], //  9 🐓
  ['\u{1F427}', 'Penguin'], // 10 🐧
  ['\u{1F422}', 'Turtle'], // 11 🐢
  ['\u{1F41F}', 'Fish'], // 12 🐟
  ['\u{1F419}', 'Octopus'], // 13 🐙
  ['\u{1F98B}', 'Butterfly'], // 14 🦋
  ['\u{1F337}', 'Flower'], // 15 🌷
  ['\u{1F333}', 'Tree'], // 16 🌳
  ['\u{1F335}', 'Cactus'], // 17 🌵
  ['\u{1F344}', 'Mushroom'], // 18 🍄
  ['\u{1F30F}', 'Globe'], // 19 🌏
  ['\u{1F319}', 'Moon'], // 20 🌙
  ['\u{2601}\u{FE0F}', 'Cloud'], // 21 ☁️
  ['\u{1F525}', 'Fire'], // 22 🔥
  ['\u{1F34C}', 'Banana'], // 23 🍌
  ['\u{1F34E}', 'Apple'], // 24 🍎
  ['\u{1F353}', 'Strawberry'], // 25 🍓
  ['\u{1F33D}', 'Corn'], // 26 🌽
  ['\u{1F355}', 'Pizza'], // 27 🍕
  ['\u{1F382}', 'Cake'], // 28 🎂
  ['\u{2764}\u{FE0F}', 'Heart'], // 29 ❤️
  ['\u{1F600}', 'Smiley'], // 30 😀
  ['\u{1F916}', 'Robot'], // 31 🤖
  ['\u{1F3A9}', 'Hat'], // 32 🎩
  ['\u{1F453}', 'Glasses'], // 33 👓
  ['\u{1F527}', 'Spanner'], // 34 🔧
  ['\u{1F385}', 'Santa'], // 35 🎅
  ['\u{1F44D}', 'Thumbs Up'], // 36 👍
  ['\u{2602}\u{FE0F}', 'Umbrella'], // 37 ☂️
  ['\u{231B}', 'Hourglass'], // 38 ⌛
  ['\u{23F0}', 'Clock'], // 39 ⏰
  ['\u{1F381}', 'Gift'], // 40 🎁
  ['\u{1F4A1}', 'Light Bulb'], // 41 💡
  ['\u{1F4D5}', 'Book'], // 42 📕
  ['\u{270F}\u{FE0F}', 'Pencil'], // 43 ✏️
  ['\u{1F4CE}', 'Paperclip'], // 44 📎
  ['\u{2702}\u{FE0F}', 'Scissors'], // 45 ✂️
  ['\u{1F512}', 'Lock'], // 46 🔒
  ['\u{1F511}', 'Key'], // 47 🔑
  ['\u{1F528}', 'Hammer'], // 48 🔨
  ['\u{260E}\u{FE0F}', 'Telephone'], // 49 ☎️
  ['\u{1F3C1}', 'Flag'], // 50 🏁
  ['\u{1F682}', 'Train'], // 51 🚂
  ['\u{1F6B2}', 'Bicycle'], // 52 🚲
  ['\u{2708}\u{FE0F}', 'Aeroplane'], // 53 ✈️
  ['\u{1F680}', 'Rocket'], // 54 🚀
  ['\u{1F3C6}', 'Trophy'], // 55 🏆
  ['\u{26BD}', 'Ball'], // 56 ⚽
  ['\u{1F3B8}', 'Guitar'], // 57 🎸
  ['\u{1F3BA}', 'Trumpet'], // 58 🎺
  ['\u{1F514}', 'Bell'], // 59 🔔
  ['\u{2693}', 'Anchor'], // 60 ⚓
  ['\u{1F3A7}', 'Headphones'], // 61 🎧
  ['\u{1F4C1}', 'Folder'], // 62 📁
  ['\u{1F4CC}', 'Pin'], // 63 📌
];

export const SAS_EMOJI_TABLE: readonly SasEmoji[] = TABLE.map(([emoji, name], index) => ({ index, emoji, name }));

/** 7 emoji from the first 42 bits, most significant bits first. */
export function sasEmoji(bytes: Uint8Array): readonly SasEmoji[] {
  assertBytes(bytes, 'SAS bytes', SAS_BYTES);
  let bits = 0n;
  for (const b of bytes) bits = (bits << 8n) | BigInt(b);
  const out: SasEmoji[] = [];
  for (let i = 0; i < 7; i++) {
    const idx = Number((bits >> BigInt(48 - 6 * (i + 1))) & 63n);
    out.push(SAS_EMOJI_TABLE[idx] as SasEmoji);
  }
  return out;
}

/** Three numbers 1000..9191 from the first 39 bits (13 bits each), most significant first. */
export function sasDecimal(bytes: Uint8Array): readonly [number, number, number] {
  assertBytes(bytes, 'SAS bytes', SAS_BYTES);
  const at = (i: number): number => bytes[i] as number; // length checked above
  const [b0, b1, b2, b3, b4] = [at(0), at(1), at(2), at(3), at(4)];
  return [
    ((b0 << 5) | (b1 >> 3)) + 1000,
    (((b1 & 0x07) << 10) | (b2 << 2) | (b3 >> 6)) + 1000,
    (((b3 & 0x3f) << 7) | (b4 >> 1)) + 1000,
  ];
}

/** "🐶 Dog  🐱 Cat …" for a terminal. */
export function formatSasEmoji(emoji: readonly SasEmoji[]): string {
  return emoji.map((e) => `${e.emoji} ${e.name}`).join('  ');
}

/** "1234-5678-9012". */
export function formatSasDecimal(groups: readonly number[]): string {
  return groups.join('-');
}
