import { generateKeyPairSync } from 'node:crypto';

/** Test keys for the JWT configuration: an HS256 secret and public keys of each kind. */
export const SECRET = 'a'.repeat(32);
const publicPem = (type: 'rsa' | 'ec' | 'ed25519', options: object) =>
  (generateKeyPairSync as (t: string, o: object) => { publicKey: { export(o: object): string | Buffer } })(type, options).publicKey.export({ type: 'spki', format: 'pem' }).toString();
export const PEM = {
  rsa: publicPem('rsa', { modulusLength: 2048 }),
  p256: publicPem('ec', { namedCurve: 'prime256v1' }),
  ed25519: publicPem('ed25519', {}),
};
