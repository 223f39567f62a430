/** Las palabras de la app del conductor, en español (enviadas a la app como JSON). */
export default {
  title: 'Mayday',
};
