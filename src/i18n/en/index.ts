/** The English catalogue: it defines the keys every other language must have. */
import app from './app';
import phone from './phone';

export const en = { phone, app };

/** The shape of a catalogue: the same keys as English, every value a string. */
type Strings<T> = { [K in keyof T]: T[K] extends string ? string : Strings<T[K]> };
export type Catalogue = Strings<typeof en>;
