/** What Mayday says by SMS and voice, in English. */
export default {
  /** Placeholder until every SMS and voice text moves here. */
  smsHelpDriver: 'Mayday: text SOS if you are in danger. Reply SAFE or HELP when Mayday asks how you are.',
};
