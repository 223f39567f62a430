/** The Spanish catalogue. */
import type { Catalogue } from '../en';
import app from './app';
import phone from './phone';

export const es: Catalogue = { phone, app };
