/**
 * The libsignal baseline for `npm run bench -- crypto`: @signalapp/libsignal-client (Rust, via N-API)
 * doing the same work as Compeer's workloads in bench/suites/crypto.ts. Installed on first use into
 * bench/node_modules (bench/package.json), never part of the product's install.
 *
 * Stores behave as a persistent store would: every saved record is serialized to bytes, every load
 * deserializes (libsignal's API loads the session record for each operation).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const benchDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const SPEC = '@signalapp/libsignal-client';

/** Installs bench/package.json's dependencies (libsignal-client) once. */
export function ensureBaselineInstalled(): void {
  if (existsSync(join(benchDir, 'node_modules', '@signalapp', 'libsignal-client', 'package.json'))) return;
  console.error('bench: installing @signalapp/libsignal-client into bench/node_modules (first use)…');
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--silent'], { cwd: benchDir, stdio: 'inherit' });
}

// The narrow slice of libsignal's API these workloads use (typed here so bench/ typechecks without it).
interface Serializable {
  serialize(): Uint8Array;
}
interface PublicKey extends Serializable {
  compare(other: PublicKey): number;
}
interface PrivateKey extends Serializable {
  getPublicKey(): PublicKey;
  sign(msg: Uint8Array): Uint8Array;
}
interface IdentityKeyPair {
  publicKey: PublicKey;
  privateKey: PrivateKey;
}
interface KemKeyPair {
  getPublicKey(): Serializable;
}
interface Ciphertext {
  serialize(): Uint8Array;
  type(): number;
}
type Address = object;
interface Lib {
  PrivateKey: { generate(): PrivateKey };
  PublicKey: { deserialize(b: Uint8Array): PublicKey };
  KEMPublicKey: { deserialize(b: Uint8Array): Serializable };
  IdentityKeyPair: { generate(): IdentityKeyPair };
  KEMKeyPair: { generate(): KemKeyPair };
  ProtocolAddress: { new: (name: string, device: number) => Address };
  PreKeyRecord: { new: (id: number, pub: PublicKey, priv: PrivateKey) => Serializable; deserialize(b: Uint8Array): Serializable };
  SignedPreKeyRecord: {
    new: (id: number, ts: number, pub: PublicKey, priv: PrivateKey, sig: Uint8Array) => Serializable;
    deserialize(b: Uint8Array): Serializable;
  };
  KyberPreKeyRecord: {
    new: (id: number, ts: number, kp: KemKeyPair, sig: Uint8Array) => Serializable;
    deserialize(b: Uint8Array): Serializable;
  };
  PreKeyBundle: { new: (...args: unknown[]) => object };
  SessionRecord: { deserialize(b: Uint8Array): Serializable };
  PreKeySignalMessage: { deserialize(b: Uint8Array): object };
  SignalMessage: { deserialize(b: Uint8Array): object };
  SessionStore: abstract new () => object;
  IdentityKeyStore: abstract new () => object;
  PreKeyStore: abstract new () => object;
  SignedPreKeyStore: abstract new () => object;
  KyberPreKeyStore: abstract new () => object;
  processPreKeyBundle(...args: unknown[]): Promise<void>;
  signalEncrypt(...args: unknown[]): Promise<Ciphertext>;
  signalDecrypt(...args: unknown[]): Promise<Uint8Array>;
  signalDecryptPreKey(...args: unknown[]): Promise<Uint8Array>;
}

async function load(): Promise<Lib> {
  ensureBaselineInstalled();
  const path = join(benchDir, 'node_modules', SPEC, 'dist', 'index.js');
  return (await import(path)) as Lib;
}

const keyOf = (a: Address): string => String((a as { toString(): string }).toString());

/** One party: identity, prekeys and stores, all records kept serialized. */
function makeParty(L: Lib, name: string) {
  const identity = L.IdentityKeyPair.generate();
  const address = L.ProtocolAddress.new(name, 1);
  const sessions = new Map<string, Uint8Array>();
  const identities = new Map<string, Uint8Array>();
  const prekeys = new Map<number, Uint8Array>();
  const signed = new Map<number, Uint8Array>();
  const kyber = new Map<number, Uint8Array>();

  class Sessions extends L.SessionStore {
    async saveSession(a: Address, r: Serializable) {
      sessions.set(keyOf(a), r.serialize());
    }
    async getSession(a: Address) {
      const b = sessions.get(keyOf(a));
      return b ? L.SessionRecord.deserialize(b) : null;
    }
    async getExistingSessions(as: Address[]) {
      return as.map((a) => L.SessionRecord.deserialize(sessions.get(keyOf(a)) as Uint8Array));
    }
  }
  class Identities extends L.IdentityKeyStore {
    async getIdentityKey() {
      return identity.privateKey;
    }
    async getLocalRegistrationId() {
      return 1;
    }
    async saveIdentity(a: Address, k: PublicKey) {
      identities.set(keyOf(a), k.serialize());
      return 0;
    }
    async isTrustedIdentity() {
      return true;
    }
    async getIdentity() {
      return null;
    }
  }
  class PreKeys extends L.PreKeyStore {
    async savePreKey(id: number, r: Serializable) {
      prekeys.set(id, r.serialize());
    }
    async getPreKey(id: number) {
      return L.PreKeyRecord.deserialize(prekeys.get(id) as Uint8Array);
    }
    async removePreKey(id: number) {
      prekeys.delete(id);
    }
  }
  class SignedPreKeys extends L.SignedPreKeyStore {
    async saveSignedPreKey(id: number, r: Serializable) {
      signed.set(id, r.serialize());
    }
    async getSignedPreKey(id: number) {
      return L.SignedPreKeyRecord.deserialize(signed.get(id) as Uint8Array);
    }
  }
  class KyberPreKeys extends L.KyberPreKeyStore {
    async saveKyberPreKey(id: number, r: Serializable) {
      kyber.set(id, r.serialize());
    }
    async getKyberPreKey(id: number) {
      return L.KyberPreKeyRecord.deserialize(kyber.get(id) as Uint8Array);
    }
    async markKyberPreKeyUsed(id: number) {
      kyber.delete(id);
    }
  }
  const stores = {
    sessions: new Sessions(),
    identities: new Identities(),
    prekeys: new PreKeys(),
    signed: new SignedPreKeys(),
    kyber: new KyberPreKeys(),
  };

  // Signed prekey (one per party), created once.
  const spk = L.PrivateKey.generate();
  const spkSig = identity.privateKey.sign(spk.getPublicKey().serialize());
  signed.set(1, L.SignedPreKeyRecord.new(1, Date.now(), spk.getPublicKey(), spk, spkSig).serialize());

  /**
   * A fresh bundle with a new one-time prekey and one-time Kyber prekey, as the bytes that arrive from
   * the network (not timed); `bundleFromWire` turns them into libsignal's objects (timed, as ours
   * decodes its bundle from bytes).
   */
  function freshBundle(id: number): WireBundle {
    const pk = L.PrivateKey.generate();
    prekeys.set(id, L.PreKeyRecord.new(id, pk.getPublicKey(), pk).serialize());
    const kp = L.KEMKeyPair.generate();
    const kSig = identity.privateKey.sign(kp.getPublicKey().serialize());
    kyber.set(id, L.KyberPreKeyRecord.new(id, Date.now(), kp, kSig).serialize());
    return {
      id,
      prekey: pk.getPublicKey().serialize(),
      signedPrekey: spk.getPublicKey().serialize(),
      spkSig,
      identityKey: identity.publicKey.serialize(),
      kyberPrekey: kp.getPublicKey().serialize(),
      kSig,
    };
  }
  return { identity, address, stores, freshBundle };
}
type Party = ReturnType<typeof makeParty>;

interface WireBundle {
  id: number;
  prekey: Uint8Array;
  signedPrekey: Uint8Array;
  spkSig: Uint8Array;
  identityKey: Uint8Array;
  kyberPrekey: Uint8Array;
  kSig: Uint8Array;
}

function bundleFromWire(L: Lib, w: WireBundle): object {
  const P = L.PublicKey;
  return L.PreKeyBundle.new(1, 1, w.id, P.deserialize(w.prekey), 1, P.deserialize(w.signedPrekey), w.spkSig,
    P.deserialize(w.identityKey), w.id, L.KEMPublicKey.deserialize(w.kyberPrekey), w.kSig);
}

async function encrypt(L: Lib, from: Party, to: Party, msg: Uint8Array): Promise<Ciphertext> {
  return L.signalEncrypt(msg, to.address, from.address, from.stores.sessions, from.stores.identities);
}

async function decrypt(L: Lib, at: Party, from: Party, c: Ciphertext): Promise<Uint8Array> {
  const s = at.stores;
  if (c.type() === 3) {
    const m = L.PreKeySignalMessage.deserialize(c.serialize());
    return L.signalDecryptPreKey(m, from.address, at.address, s.sessions, s.identities, s.prekeys, s.signed, s.kyber);
  }
  return L.signalDecrypt(L.SignalMessage.deserialize(c.serialize()), from.address, at.address, s.sessions, s.identities);
}

export interface Workloads {
  /** Prepares `n` setups (bundles with fresh one-time keys) outside the timed region. */
  prepareSetups(n: number): void;
  /** Decodes a prepared bundle from bytes and processes it, encrypts the first 1 KiB message, the responder decrypts it. */
  setup(): Promise<void>;
  /** One 1 KiB message encrypted by A and decrypted by B, in an established session. */
  oneWay(): Promise<void>;
  /** One message in alternating direction: every message carries a new DH ratchet key. */
  pingPong(): Promise<void>;
}

export async function libsignalWorkloads(message: Uint8Array): Promise<Workloads> {
  const L = await load();
  const alice = makeParty(L, 'alice');
  const bob = makeParty(L, 'bob');
  // The established session for oneWay/pingPong.
  await L.processPreKeyBundle(bundleFromWire(L, bob.freshBundle(1_000_000)), bob.address, alice.address, alice.stores.sessions, alice.stores.identities);
  await decrypt(L, bob, alice, await encrypt(L, alice, bob, message));
  await decrypt(L, alice, bob, await encrypt(L, bob, alice, message));

  let pending: { initiator: Party; bundle: WireBundle }[] = [];
  let counter = 0;
  let turn = 0;
  return {
    prepareSetups(n) {
      pending = [];
      for (let i = 0; i < n; i++) {
        const initiator = makeParty(L, `setup-${counter}`);
        pending.push({ initiator, bundle: bob.freshBundle(++counter) });
      }
    },
    async setup() {
      const next = pending.pop();
      if (!next) throw new Error('libsignal baseline: no prepared setups left');
      const { initiator, bundle } = next;
      await L.processPreKeyBundle(bundleFromWire(L, bundle), bob.address, initiator.address, initiator.stores.sessions, initiator.stores.identities);
      await decrypt(L, bob, initiator, await encrypt(L, initiator, bob, message));
    },
    async oneWay() {
      await decrypt(L, bob, alice, await encrypt(L, alice, bob, message));
    },
    async pingPong() {
      const [from, to] = turn++ % 2 === 0 ? [alice, bob] : [bob, alice];
      await decrypt(L, to, from, await encrypt(L, from, to, message));
    },
  };
}
