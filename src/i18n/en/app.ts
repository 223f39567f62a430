/** The driver app's words, in English (sent to the app as JSON). */
export default {
  title: 'Mayday',
};
