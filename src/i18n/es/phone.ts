/** Lo que Mayday dice por SMS y por voz, en español. */
export default {
  smsHelpDriver: 'Mayday: escriba SOS si está en peligro. Responda BIEN o AYUDA cuando Mayday le pregunte cómo está.',
};
