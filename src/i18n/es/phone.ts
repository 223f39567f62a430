/**
 * Lo que Mayday dice por SMS y por voz, en español (de Latinoamérica, de usted). Los avisos
 * caben en dos segmentos: se prefieren palabras en GSM-7 (é, ñ, ¿ y ¡ lo son; á, í, ó y ú no), sin
 * sacrificar la corrección. "ACK <código>" y el dígito 1 se quedan igual en todos los idiomas.
 */
export default {
  kind: {
    robbery: 'ROBO', shooting: 'TIROTEO', assault: 'ATAQUE', harassment: 'ACOSO', crash: 'CHOQUE', medical: 'EMERGENCIA MÉDICA', other: 'EMERGENCIA',
  },
  /** "{driver} reporta {kind}". */
  kindSpoken: {
    robbery: 'un robo', shooting: 'un tiroteo', assault: 'una agresión', harassment: 'acoso', crash: 'un choque', medical: 'una emergencia médica', other: 'una emergencia',
  },

  page: {
    sms: 'MAYDAY #{code}{again}: {kind} - {driver} necesita ayuda{where}. {fix} Responda ACK {code} para hacerse cargo.',
    smsShort: 'MAYDAY #{code}{again}: {kind} - {driver}{where}. {fix} Responda ACK {code}',
    inZone: ' en {zone}',
    again: ' (otra vez)',
    reminder: ' (recordatorio {round})',
    needHelp: ' (pide AYUDA)',
    checkinMissed: ' (SIN RESPUESTA del conductor)',
    voice:
      'Emergencia de Mayday. {driver} reporta {kind}{where}. Incidente {code}. La ubicación le llega por mensaje de texto. ' +
      'Presione 1 para confirmar y hacerse cargo de este incidente.',
  },

  fix: {
    full: 'GPS {coordinates}{accuracy}, hace {age}: {link}',
    short: 'GPS{accuracy}, hace {age}: {link}',
    accuracy: ' +/-{meters}m',
    unknown: 'Lugar desconocido.',
  },

  duress: {
    sms:
      'MAYDAY BAJO AMENAZA #{code}: {driver} introdujo el PIN de AMENAZA. Su app dice "cancelado", pero sigue en PELIGRO. ' +
      'No le escriba ni llame al conductor. {fix} Responda ACK {code} para hacerse cargo.',
    smsShort: 'MAYDAY AMENAZA #{code}: {driver} en PELIGRO, no lo contacte. {fix} Responda ACK {code}',
    voice:
      'Alerta de Mayday: conductor bajo amenaza. {driver} introdujo el PIN de amenaza. Su app muestra el incidente como cancelado, ' +
      'pero sigue en peligro. No contacte al conductor. Incidente {code}. La ubicación le llega por mensaje de texto. ' +
      'Presione 1 para confirmar y hacerse cargo de este incidente.',
  },

  notice: {
    sms: 'Mayday #{code}: {driver} ha cancelado la alerta con su PIN. Por favor confirme que se encuentra bien y cierre el incidente.',
  },

  dispatch: {
    failed: 'MAYDAY #{code}: DESPACHO FALLIDO - NO se enviaron servicios de emergencia para {driver}. LLAME USTED AL 911. {fix} Responda ACK {code}',
    failedShort: 'MAYDAY #{code}: DESPACHO FALLIDO, {driver}. LLAME AL 911. {fix} Responda ACK {code}',
    failedVoice:
      'Falla de despacho de Mayday. No se pudieron pedir servicios de emergencia para {driver}. Llame usted al 911 ahora. ' +
      'Incidente {code}. La ubicación le llega por mensaje de texto. Presione 1 para confirmar.',
    psapContacted: 'Mayday #{code}: el despachador ya se puso en contacto con el 911 por {driver}.',
    canceledThenDuress: 'MAYDAY #{code}: el despacho para {driver} fue CANCELADO y luego se introdujo el PIN de AMENAZA. PIDA OTRA VEZ LA POLICIA o llame al 911. {fix} Responda ACK {code}',
    canceledThenDuressShort: 'MAYDAY #{code}: AMENAZA tras cancelar, {driver}. LLAME AL 911. {fix} Responda ACK {code}',
    requested: 'Mayday #{code}: se pidió la policía a la central de despacho. Le avisaremos por texto cuando se contacte al 911.',
    already: 'Mayday #{code}: ya se habían pedido servicios de emergencia; no se cambió nada.',
    replyFailed: 'Mayday #{code}: el despacho FALLÓ - llame usted al 911. Se avisó a los responsables de seguridad.',
    notPaged: 'Mayday: el incidente #{code} no se le envió a usted; no se pidió nada.',
  },

  checkin: {
    sms: 'Mayday #{code}: ¿se encuentra bien? Responda BIEN o AYUDA.',
  },

  call: {
    noKey: 'No se presionó ninguna tecla. Mayday volverá a llamar.',
    acknowledged: 'Confirmado. El incidente queda a su cargo. Los detalles están en sus mensajes de texto. Adiós.',
    notOne: 'Esa tecla no fue el 1. El incidente no quedó confirmado. Mayday volverá a llamar.',
    unknownCall: 'Mayday no reconoce esta llamada. Adiós.',
    already: 'Este incidente ya fue confirmado o cerrado. Gracias. Adiós.',
    goodbye: 'Adiós.',
  },

  reply: {
    responderHelp: 'Mayday: responda ACK <número> (por ejemplo ACK 1042) para confirmar un incidente que se le envió, o solo ACK para el más reciente.',
    driverHelp: 'Mayday: escriba SOS si está en peligro. Responda BIEN o AYUDA cuando Mayday le pregunte cómo está.',
    nothingPaged: 'Mayday: no se le ha enviado ningún incidente; no se confirmó nada.',
    notPaged: 'Mayday: el incidente #{code} no se le envió a usted; no se confirmó nada.',
    acknowledged: 'Mayday: #{code} confirmado. Queda a su cargo; ya no se enviarán más avisos.',
    alreadyBy: 'Mayday: #{code} ya fue confirmado por {name}.',
    unchanged: 'Mayday: el incidente #{code} ya está {status}; no se cambió nada.',
    safe: 'Mayday #{code}: anotado, usted se encuentra bien. Si eso cambia, escriba AYUDA.',
    help: 'Mayday #{code}: la ayuda va en camino; estamos avisando otra vez a su equipo de seguridad.',
    noOpen: 'Mayday: no tiene ningún incidente abierto. Escriba SOS si está en peligro.',
    opened: 'Mayday #{code}: estamos buscando ayuda y ya avisamos a su equipo de seguridad. Escriba BIEN cuando esté a salvo.',
  },

  status: {
    acknowledged: 'confirmado', cancelRequested: 'pendiente de cancelación', resolved: 'resuelto', missing: 'eliminado',
  },

  readiness: {
    ask: 'Mayday: Usted queda de guardia en {zone} hasta {until}. Responda OK {code}',
    untilFurtherNotice: 'nuevo aviso',
    voice: 'Mayday. Usted está de guardia en {zone} hasta {until}. Para confirmar, envíe OK {code} por mensaje al número de Mayday.',
    missed: 'Mayday: {zone} no tiene guardia confirmada. {name} no ha respondido OK {code} desde el {asked}.',
    missedVoice: 'Mayday. {zone} no tiene guardia confirmada. {name} no confirmó su turno. Los detalles están en sus mensajes de texto.',
    confirmed: 'Mayday: gracias, su guardia en {zone} hasta {until} queda confirmada.',
    already: 'Mayday: usted ya confirmó OK {code}.',
    which: 'Mayday: tiene más de una guardia por confirmar; responda OK con su número, por ejemplo OK 104.',
    none: 'Mayday: no tiene ninguna guardia por confirmar; no se confirmó nada.',
    unknown: 'Mayday: OK {code} no es una de sus guardias; no se confirmó nada.',
    late: 'Mayday: la guardia OK {code} ya se cerró; no quedó confirmada.',
  },
};
