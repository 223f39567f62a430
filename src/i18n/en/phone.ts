/**
 * What Mayday says by SMS and voice, in English. Pages must fit two SMS segments: keep them in
 * GSM-7 (no "±", "…" or curly quotes), and src/paging/messages.ts shortens the names to fit.
 * "ACK <code>" and the digit 1 are what the service understands in every language.
 */
export default {
  /** The incident's kind in a page SMS. */
  kind: {
    robbery: 'ROBBERY', shooting: 'SHOOTING', assault: 'ASSAULT', harassment: 'HARASSMENT', crash: 'CRASH', medical: 'MEDICAL', other: 'EMERGENCY',
  },
  /** The incident's kind as a page call says it ("{kind} reported by driver ..."). */
  kindSpoken: {
    robbery: 'Robbery', shooting: 'Shooting', assault: 'Assault', harassment: 'Harassment', crash: 'Crash', medical: 'Medical emergency', other: 'Emergency',
  },

  /** A responder's page: {again} is one of the reasons below or nothing, {where} is inZone or nothing, {fix} one of fix.*. */
  page: {
    sms: 'MAYDAY #{code}{again}: {kind} - driver {driver} needs help{where}. {fix} Reply ACK {code} to take it.',
    /** When the names cannot be shortened enough for `sms` to fit two segments. */
    smsShort: 'MAYDAY #{code}{again}: {kind} - {driver}{where}. {fix} Reply ACK {code}',
    inZone: ' in {zone}',
    again: ' (again)',
    reminder: ' (reminder {round})',
    needHelp: ' (driver asks for HELP)',
    checkinMissed: ' (check-in MISSED)',
    voice:
      'Mayday emergency. {kind} reported by driver {driver}{where}. Incident {code}. Location by text message. ' +
      'Press 1 to acknowledge and take this incident.',
  },

  /** The driver's latest position in a page. {link} is a map link, {age} like 12s, 5min, 2h. */
  fix: {
    full: 'Last fix {coordinates}{accuracy}, {age} ago: {link}',
    short: 'Last fix{accuracy}, {age} ago: {link}',
    accuracy: ' +/-{meters}m',
    unknown: 'Location unknown.',
  },

  /** The page after a duress PIN: the driver's app shows a cancel, but they are not safe. */
  duress: {
    sms:
      'MAYDAY DURESS #{code}: driver {driver} entered the DURESS PIN - their app shows "cancelled", they are NOT safe. ' +
      'Do not text or call the driver. {fix} Reply ACK {code} to take it.',
    smsShort: 'MAYDAY DURESS #{code}: {driver} is NOT safe, do not contact. {fix} Reply ACK {code}',
    voice:
      'Mayday duress alert. Driver {driver} entered the duress PIN. Their app shows the incident as cancelled, but they are not safe. ' +
      'Do not contact the driver. Incident {code}. Location by text message. Press 1 to acknowledge and take this incident.',
  },

  /** To whoever was paged, after the driver cancelled with the real PIN. */
  notice: {
    sms: 'Mayday #{code}: the driver {driver} cancelled with their PIN. Please confirm they are safe and resolve the incident.',
  },

  /** Emergency dispatch: to the safety leads when it failed, to the acknowledging supervisor when 911 was contacted; replies to "911 <code>". */
  dispatch: {
    failed: 'MAYDAY #{code}: DISPATCH FAILED - emergency services were NOT sent for driver {driver}. CALL 911 YOURSELF. {fix} Reply ACK {code}',
    failedShort: 'MAYDAY #{code}: DISPATCH FAILED for {driver}. CALL 911 YOURSELF. {fix} Reply ACK {code}',
    failedVoice:
      'Mayday dispatch failure. Emergency services could not be requested for driver {driver}. Call 911 yourself now. ' +
      'Incident {code}. Location by text message. Press 1 to acknowledge.',
    psapContacted: 'Mayday #{code}: the dispatcher has contacted 911 for driver {driver}.',
    /** The driver's cancel PIN cancelled the alarm, then the duress PIN was entered: the police were called off under threat. */
    canceledThenDuress: 'MAYDAY #{code}: dispatch for {driver} was CANCELLED, then the DURESS PIN was entered. REQUEST POLICE AGAIN or call 911. {fix} Reply ACK {code}',
    canceledThenDuressShort: 'MAYDAY #{code}: police CANCELLED, then DURESS ({driver}). CALL 911. {fix} Reply ACK {code}',
    requested: 'Mayday #{code}: police requested through the dispatch center. You will get a text when 911 is contacted.',
    already: 'Mayday #{code}: emergency services were already requested; nothing changed.',
    replyFailed: 'Mayday #{code}: the dispatch FAILED - call 911 yourself. The safety leads were paged.',
    notPaged: 'Mayday: you were not paged for #{code}; nothing was requested.',
  },

  /** To the driver. */
  checkin: {
    sms: 'Mayday #{code}: are you safe? Reply SAFE or HELP.',
  },

  /** What a page call says after its script, and after a key is pressed. */
  call: {
    noKey: 'No key was pressed. Mayday will call again.',
    acknowledged: 'Acknowledged. The incident is yours. Details are in your text messages. Goodbye.',
    notOne: 'That was not 1. The incident is not acknowledged. Mayday will call again.',
    unknownCall: 'This call is not known to Mayday. Goodbye.',
    already: 'This incident was already acknowledged or closed. Thank you. Goodbye.',
    goodbye: 'Goodbye.',
  },

  /** Replies to texts sent to Mayday's number. */
  reply: {
    responderHelp: 'Mayday: reply ACK <number> (for example ACK 1042) to acknowledge an incident you were paged for, or ACK for the newest one.',
    driverHelp: 'Mayday: text SOS if you are in danger. Reply SAFE or HELP when Mayday asks how you are.',
    nothingPaged: 'Mayday: no incident was paged to you; nothing was acknowledged.',
    notPaged: 'Mayday: you were not paged for #{code}; nothing was acknowledged.',
    acknowledged: 'Mayday: #{code} acknowledged. It is yours - further pages stopped.',
    alreadyBy: 'Mayday: #{code} was already acknowledged by {name}.',
    unchanged: 'Mayday: #{code} is {status}; nothing changed.',
    safe: 'Mayday #{code}: noted, you are safe. Text HELP if that changes.',
    help: 'Mayday #{code}: help is on the way - we are paging your safety team again now.',
    noOpen: 'Mayday: you have no open incident. Text SOS if you are in danger.',
    opened: 'Mayday #{code}: help is being reached - we are paging your safety team now. Text SAFE when you are safe.',
  },

  /** An incident's status, in reply.unchanged. */
  status: {
    acknowledged: 'acknowledged', cancelRequested: 'cancel requested', resolved: 'resolved', missing: 'missing',
  },
  /**
   * On-call readiness: the check at a shift's start, and the page to the safety leads when it goes
   * unconfirmed. {until} and {asked} are times in UTC written "2026-12-07 16:00 UTC". "OK" is
   * understood in every language.
   */
  readiness: {
    ask: 'Mayday: You are on call for {zone} until {until}. Reply OK {code}',
    /** When the shift's end is not known (an override with nothing after it). */
    untilFurtherNotice: 'further notice',
    voice: 'Mayday. You are on call for {zone} until {until}. To confirm, text OK {code} to the Mayday number.',
    missed: 'Mayday: {zone} has no confirmed on-call. {name} was asked at {asked} to reply OK {code} and has not.',
    missedVoice: 'Mayday. {zone} has no confirmed on-call. {name} did not confirm their shift. Details are in your text messages.',
    confirmed: 'Mayday: thank you, you are confirmed on call for {zone} until {until}.',
    already: 'Mayday: you already confirmed OK {code}.',
    which: 'Mayday: you have more than one on-call check waiting; reply OK with its number, for example OK 104.',
    none: 'Mayday: no on-call check is waiting for you; nothing was confirmed.',
    unknown: 'Mayday: OK {code} is not one of your on-call checks; nothing was confirmed.',
    /** An OK after the safety leads were paged, or after the shift ended: it confirms nothing. */
    late: 'Mayday: on-call check OK {code} is over; it was not confirmed.',
  },
};
