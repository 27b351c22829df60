// Every string of the interface, in English and Simplified Chinese, and the helpers that apply them.

export const STRINGS = {
  en: {
    htmlLang: 'en',
    title: 'Digit Canvas',
    tagline: 'Draw a digit. A small neural network guesses it.',
    skipToPad: 'Skip to the drawing area',
    languageLabel: 'Language',
    padHeading: 'Draw here',
    padLabel: 'Drawing area for one digit',
    padPlaceholder: 'Draw one digit, 0–9',
    padHelp: 'Use a mouse, finger or pen. The answer appears when you lift it.',
    undo: 'Undo',
    clear: 'Clear',
    resultHeading: 'Prediction',
    statusEmpty: 'Draw a digit to see what the network thinks.',
    statusTooSmall: 'That is only a dot. Draw a whole digit, 0–9.',
    statusResult: 'Most likely {digit}, {pct} sure.',
    statusUnsure: 'Not sure: it could be {candidates}. Best guess {digit} ({pct}).',
    statusNotDigit: 'That doesn’t look like a digit. Draw one digit, 0–9.',
    notDigit: 'Not a digit',
    or: ' or ',
    statusError: 'No prediction this time.',
    confidence: '{pct} sure',
    unsure: 'Unsure',
    errorServer: 'The server could not read the drawing: {message}',
    errorNetwork: 'Cannot reach the server. Check the connection, then try again.',
    errorTimeout: 'The server took too long to answer. Try again.',
    errorBadResponse: 'The server sent an unexpected answer (HTTP {status}).',
    retry: 'Try again',
    previewCaption: 'What the model saw (28×28)',
    previewAlt: 'Your drawing as the model saw it: 28 by 28 pixels, white ink on black.',
    barsHeading: 'Probability of each digit',
    barLabel: 'Digit {digit}',
    modelLabel: 'Model',
    feedbackQuestion: 'Which digit did you draw?',
    feedbackHelp: 'Click it or press its key (N: not a digit); the drawing is then kept to improve the model.',
    feedbackRight: 'Digit {digit}: the answer is right',
    feedbackNotDigit: 'Not a digit',
    feedbackNotDigitRight: 'Not a digit: the answer is right',
    feedbackSavedNotDigit: 'Thanks! Kept as “not a digit”: the network will learn from it.',
    feedbackSending: 'Saving…',
    feedbackConfirmed: 'Thanks! Kept as a {digit}, as the network said.',
    feedbackSaved: 'Thanks! Kept as a {digit}: the network will learn from it.',
    feedbackFailed: 'Not saved: {message}',
    feedbackOffline: 'Not saved: cannot reach the server. Try again.',
    modeLabel: 'What to write',
    modeDigit: 'Digit',
    modeNumber: 'Number',
    padLabelNumber: 'Drawing area for a number',
    padPlaceholderNumber: 'Write a number, up to 12 digits',
    numberStatusEmpty: 'Write a number to see what the network reads.',
    numberStatusTooSmall: 'That is only a dot. Write a whole number.',
    numberStatusResult: 'It reads {number}.',
    numberStatusUnsure: 'It reads {number}, but is unsure of some digits.',
    numberStatusNotDigit: 'Piece {which} does not look like a digit, so there is no number.',
    cardsLabel: 'Digits, left to right',
    cardPreviewAlt: 'Digit {index} as the model saw it: 28 by 28 pixels.',
    verdictDigit: 'sure',
    verdictUnsure: 'unsure',
    verdictNotDigit: 'not a digit',
    correctLabel: 'Correct digit {index}',
    correctPrompt: 'Fix…',
    numberHelp: 'Wrong digit? Pick the right one under it; that digit is kept to improve the model.',
    numberFeedbackSaved: 'Thanks! Digit {index} kept as a {digit}.',
    modelPageLink: 'About the model',
    whyButton: 'Why?',
    whyHeading: 'Why this answer?',
    whyClose: 'Close',
    whyTargets: 'Explain digit',
    whyMethod: 'Map',
    methodIG: 'Integrated gradients',
    methodGxI: 'Gradient × ink',
    methodGradient: 'Gradient (where ink would help)',
    whyPreviewLabel: 'Heat map over the 28×28 image the model saw',
    whyPreviewCaption: 'Over what the model saw',
    whyStrokesLabel: 'Heat map over your strokes',
    whyStrokesCaption: 'Over your strokes',
    whySoftmax: 'From logits to probabilities',
    whyLayers: 'Inside the network, layer by layer',
    whyIdle: 'Draw a digit: its explanation appears here.',
    whyLoading: 'Asking the network about {digit}…',
    whyFailed: 'No explanation: {message}',
    whyOffline: 'No explanation: cannot reach the server. Try again.',
    whyBecause: 'Why {digit}: red pixels argue for {digit}, blue ones against. Click any bar to ask "why not…?"',
    whyNot: 'Why not {digit}? The network said {answer}; red pixels argue for {digit}, blue ones against.',
    whyFor: 'for {digit}',
    whyAgainst: 'against {digit}',
    help_integrated_gradients: 'Integrated gradients ({steps} steps from a black image): each pixel\'s share of the logit; they add up to the difference from a blank drawing (off by {gap}).',
    help_gradient_x_input: 'Gradient × ink: what each inked pixel adds to or takes from the logit, at this drawing.',
    help_gradient: 'Gradient: where a little more ink would raise (red) or lower (blue) the logit, inked or not.',
    thDigit: 'Digit',
    thLogit: 'Logit z',
    thShifted: 'z − max',
    thExp: 'e^(z − max)',
    thProb: 'Softmax',
    softmaxSum: 'Softmax: each e^(z − max) divided by their sum over all ten digits, {total} (max logit {max}).',
    softmaxSumT: 'Softmax with the model\'s calibration temperature T = {temperature}: each e^((z − max) / T) divided by their sum over all outputs, {total} (max logit {max}).',
    notDigitRow: 'not a digit',
    layerTitle: 'Hidden layer {n}: {active} of {size} units active',
    layerGridLabel: 'Activations of the {size} units of hidden layer {n}',
    layerTop: 'Strongest units: {units}',
    templatesWeights: 'The units that push the logit of {digit} most, and their weights (red: ink here excites the unit, blue: inhibits it).',
    templatesGradient: 'The units that push the logit of {digit} most, and what each responds to at this drawing (its input gradient).',
    templateAlt: 'Template of unit {unit}',
    footer: 'A neural network written from scratch in NumPy and trained on MNIST. '
      + 'Your drawing is sent to this server to be recognised, and kept only if you say which digit it is.',
  },
  zh: {
    htmlLang: 'zh-Hans',
    title: '数字画板',
    tagline: '写一个数字，小型神经网络来猜它是几。',
    skipToPad: '跳到书写区',
    languageLabel: '语言',
    padHeading: '在这里书写',
    padLabel: '书写一个数字的区域',
    padPlaceholder: '写一个数字（0–9）',
    padHelp: '可以用鼠标、手指或触控笔书写。抬起后立即显示结果。',
    undo: '撤销',
    clear: '清除',
    resultHeading: '识别结果',
    statusEmpty: '写一个数字，看看神经网络认为它是几。',
    statusTooSmall: '这只是一个点。请写一个完整的数字（0–9）。',
    statusResult: '最可能是 {digit}，把握 {pct}。',
    statusUnsure: '不太确定：可能是 {candidates}。最可能是 {digit}（{pct}）。',
    statusNotDigit: '这看起来不像数字。请写一个数字（0–9）。',
    notDigit: '不是数字',
    or: ' 或 ',
    statusError: '这次没有识别结果。',
    confidence: '把握 {pct}',
    unsure: '不确定',
    errorServer: '服务器无法识别这幅图：{message}',
    errorNetwork: '无法连接服务器。请检查网络后重试。',
    errorTimeout: '服务器响应超时，请重试。',
    errorBadResponse: '服务器返回了意外的响应（HTTP {status}）。',
    retry: '重试',
    previewCaption: '模型看到的图像（28×28）',
    previewAlt: '模型看到的图像：28×28 像素，黑底白字。',
    barsHeading: '各数字的概率',
    barLabel: '数字 {digit}',
    modelLabel: '模型',
    feedbackQuestion: '你写的是哪个数字？',
    feedbackHelp: '点击它或按对应的数字键（N：不是数字）；这幅图会被保存，用于改进模型。',
    feedbackRight: '数字 {digit}：识别正确',
    feedbackNotDigit: '不是数字',
    feedbackNotDigitRight: '不是数字：识别正确',
    feedbackSavedNotDigit: '谢谢！已记录为“不是数字”，神经网络会从中学习。',
    feedbackSending: '正在保存…',
    feedbackConfirmed: '谢谢！已记录为 {digit}，与识别结果一致。',
    feedbackSaved: '谢谢！已记录为 {digit}，神经网络会从中学习。',
    feedbackFailed: '未能保存：{message}',
    feedbackOffline: '未能保存：无法连接服务器，请重试。',
    modeLabel: '书写内容',
    modeDigit: '一个数字',
    modeNumber: '多位数',
    padLabelNumber: '书写多位数的区域',
    padPlaceholderNumber: '写一个多位数（最多 12 位）',
    numberStatusEmpty: '写一个多位数，看看神经网络读出的是多少。',
    numberStatusTooSmall: '这只是一个点。请写一个完整的数。',
    numberStatusResult: '读出的是 {number}。',
    numberStatusUnsure: '读出的是 {number}，但有几位不太确定。',
    numberStatusNotDigit: '第 {which} 部分不像数字，因此无法读出这个数。',
    cardsLabel: '各位数字（从左到右）',
    cardPreviewAlt: '第 {index} 位数字在模型眼中的样子：28×28 像素。',
    verdictDigit: '确定',
    verdictUnsure: '不确定',
    verdictNotDigit: '不是数字',
    correctLabel: '更正第 {index} 位',
    correctPrompt: '更正…',
    numberHelp: '有一位读错了？在它下面选出正确的数字；这一位会被保存，用于改进模型。',
    numberFeedbackSaved: '谢谢！第 {index} 位已记录为 {digit}。',
    modelPageLink: '关于模型',
    whyButton: '为什么？',
    whyHeading: '为什么是这个答案？',
    whyClose: '关闭',
    whyTargets: '解释数字',
    whyMethod: '图示',
    methodIG: '积分梯度',
    methodGxI: '梯度 × 笔迹',
    methodGradient: '梯度（哪里加墨有帮助）',
    whyPreviewLabel: '叠加在模型所见 28×28 图像上的热力图',
    whyPreviewCaption: '叠加在模型看到的图像上',
    whyStrokesLabel: '叠加在你的笔画上的热力图',
    whyStrokesCaption: '叠加在你的笔画上',
    whySoftmax: '从 logit 到概率',
    whyLayers: '逐层查看网络内部',
    whyIdle: '写一个数字，这里会显示解释。',
    whyLoading: '正在询问网络关于 {digit} 的解释…',
    whyFailed: '无法解释：{message}',
    whyOffline: '无法解释：无法连接服务器，请重试。',
    whyBecause: '为什么是 {digit}：红色像素支持 {digit}，蓝色像素反对。点击任意概率条可以问“为什么不是……？”',
    whyNot: '为什么不是 {digit}？网络的回答是 {answer}；红色像素支持 {digit}，蓝色像素反对。',
    whyFor: '支持 {digit}',
    whyAgainst: '反对 {digit}',
    help_integrated_gradients: '积分梯度（从全黑图像出发，{steps} 步）：每个像素在 logit 中所占的份额；总和等于与空白图像的差（误差 {gap}）。',
    help_gradient_x_input: '梯度 × 笔迹：在这幅图上，每个有墨的像素为 logit 增加或减少了多少。',
    help_gradient: '梯度：在哪里多加一点墨会提高（红）或降低（蓝）logit，无论那里是否有墨。',
    thDigit: '数字',
    thLogit: 'Logit z',
    thShifted: 'z − 最大值',
    thExp: 'e^(z − 最大值)',
    thProb: 'Softmax',
    softmaxSum: 'Softmax：每个 e^(z − 最大值) 除以十个数字之和 {total}（最大 logit 为 {max}）。',
    softmaxSumT: '带模型校准温度 T = {temperature} 的 Softmax：每个 e^((z − 最大值) / T) 除以所有输出之和 {total}（最大 logit 为 {max}）。',
    notDigitRow: '不是数字',
    layerTitle: '隐藏层 {n}：{size} 个单元中有 {active} 个被激活',
    layerGridLabel: '隐藏层 {n} 的 {size} 个单元的激活值',
    layerTop: '最强的单元：{units}',
    templatesWeights: '对 {digit} 的 logit 影响最大的单元及其权重（红：此处的墨迹激发该单元，蓝：抑制该单元）。',
    templatesGradient: '对 {digit} 的 logit 影响最大的单元，以及它们在这幅图上响应的图案（输入梯度）。',
    templateAlt: '单元 {unit} 的模板',
    footer: '一个用 NumPy 从零编写、在 MNIST 上训练的神经网络。你写的数字会发送到本服务器用于识别；只有当你选择了正确的数字时，图像才会被保存。',
  },
};

export const LANGUAGES = Object.keys(STRINGS);
const STORAGE_KEY = 'digit-canvas.lang';

/** The stored choice if any, else the first of the browser's languages we speak, else English. */
export function initialLanguage(storage, browserLanguages) {
  const stored = readStored(storage);
  if (LANGUAGES.includes(stored)) return stored;
  for (const tag of browserLanguages || []) {
    const base = String(tag).toLowerCase().split('-')[0];
    if (LANGUAGES.includes(base)) return base;
  }
  return 'en';
}

function readStored(storage) {
  try {
    return storage?.getItem(STORAGE_KEY) ?? null;
  } catch {
    return null; // storage can be blocked (privacy settings); the page still works
  }
}

export function rememberLanguage(storage, lang) {
  try {
    storage?.setItem(STORAGE_KEY, lang);
  } catch {
    // not remembered, nothing else to do
  }
}

/** A lookup for one language: t('key', {name: value}) fills {name} placeholders. */
export function translator(lang) {
  const strings = STRINGS[lang] || STRINGS.en;
  return (key, params = {}) => {
    const text = strings[key] ?? STRINGS.en[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (match, name) => (name in params ? String(params[name]) : match));
  };
}

/** Fills the static text of the page: data-i18n (text) and data-i18n-aria-label (attribute). */
export function translatePage(doc, t) {
  doc.documentElement.lang = t('htmlLang');
  doc.title = t('title');
  for (const el of doc.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of doc.querySelectorAll('[data-i18n-aria-label]')) {
    el.setAttribute('aria-label', t(el.dataset.i18nAriaLabel));
  }
}
