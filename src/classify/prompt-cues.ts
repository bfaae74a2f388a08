/**
 * Cue lists for the prompt classifier (src/classify/prompt-class.ts), by class, in the languages of
 * the labelled set (en, fr, de, es, it, pt, ja, zh). A Latin-script cue is a word stem: it matches
 * at the start of a word (not inside one), so `summar` finds "summarize" and "summary" but
 * `plan` does not find "explanation". CJK cues match anywhere (no word spacing).
 */
import type { PromptClass } from './prompt-class.js';

export interface CueSet {
  cls: PromptClass;
  weight: number;
  /** Stems or phrases, regex syntax, matched at a word start. */
  latin: string[];
  cjk: string[];
}

export const CUES: CueSet[] = [
  {
    cls: 'translation',
    weight: 5,
    latin: ['translat', 'tradu[zcisé]', 'übersetz', 'how (?:do (?:you|i)|to) say', 'localiz', 'locali[sz]e', 'wie sagt man', 'come si dice', 'comment dit-on', 'cómo se dice', 'como se diz', 'put (?:this|it|that) (?:in|into)'],
    cjk: ['翻訳', '翻译', '訳して', '译成'],
  },
  {
    // "into French" and kin: a target language; weaker, "in Python" is not a language.
    cls: 'translation',
    weight: 2,
    latin: [
      '(?:in|into|to) (?:english|french|german|spanish|japanese|chinese|italian|portuguese|korean|russian|dutch)(?!\\p{L})',
      'en (?:anglais|français|allemand|espagnol|italien|japonais)',
      'ins (?:deutsche|englische|spanische|französische|italienische)',
      'auf (?:englisch|deutsch|französisch|spanisch|italienisch|japanisch)',
      'al (?:inglés|alemán|francés|español|italiano)',
      'para o (?:inglês|português|espanhol|francês)',
      'in (?:inglese|francese|tedesco|spagnolo|giapponese|cinese)',
    ],
    cjk: ['英語に', '成英文', '成中文', '日本語に'],
  },
  {
    cls: 'summarization',
    weight: 4,
    latin: ['summar', 'tl;?dr', '(?:key|main) (?:points|takeaways)', 'recap', 'condense', 'résum', 'resum[eio](?:n|r)?(?!\\p{L})', 'resuma', 'zusammenfass', 'fass\\p{L}* .{0,60}zusammen', 'kurzfassung', 'riassum', 'sintetizz', 'synthèse', 'gist(?!\\p{L})', 'boil (?:\\p{L}+ )?down', 'in (?:a|one) (?:single )?sentence', 'short version'],
    cjk: ['要約', '总结', '摘要', '概括', 'まとめ', '归纳'],
  },
  {
    cls: 'code_generation',
    weight: 3,
    latin: [
      'code(?!\\p{L})', 'function', 'funktion', 'fonction', 'función', 'função', 'funzione', 'script', 'class(?!\\p{L})', 'method', 'implement', 'refactor', 'bug', 'debug', 'compil',
      'unit tests?', 'tests? pass', 'regex', 'sql', 'abfrage', 'stack ?trace', 'traceback', 'exception', 'typeerror', 'syntax error', 'pull request', 'endpoint', 'handler', 'lint',
      'python', 'typescript', 'javascript', 'java(?!\\p{L})', 'rust(?!\\p{L})', 'golang', 'bash(?!\\p{L})', 'c\\+\\+', 'kotlin', 'swift(?!\\p{L})', 'ruby', 'php', 'react(?!\\p{L})', 'dockerfile', 'makefile', 'docker-compose', 'helm chart', 'terraform', 'ci (?:job|pipeline)',
      '[\\w./-]+\\.(?:ts|tsx|js|mjs|py|go|rs|java|c|cc|cpp|h|rb|php|sh)(?!\\p{L})',
    ],
    cjk: ['関数', '函数', '代码', 'コード', 'プログラム', '程序', 'バグ', 'スクリプト', '脚本'],
  },
  {
    cls: 'data_analysis',
    weight: 3,
    latin: [
      'analy[sz]', 'analis', 'analiz', 'dataset', 'data set', 'datos', 'données', 'daten(?!\\p{L})', 'csv', 'spreadsheet', 'excel', 'statisti', 'estadístic', 'average', 'median', 'percentile',
      'standard deviation', 'standardabweichung', 'durchschnitt', 'moyenne', 'promedio', 'média', 'correlat', 'corrélat', 'korrelat', 'trend', 'tendanc', 'tendencia', 'chart', 'plot', 'graph',
      'anomal', 'group by', 'aggregat', 'revenue', 'growth', 'quarter', 'trimestre', 'kpi', 'metric', 'distribution', 'regression', 'histogram', 'forecast', 'comput', 'calcul', 'berechn', 'outlier', 'latenc', 'response times?', 'churn', 'error rates?',
    ],
    cjk: ['分析', '数据', 'データ', '平均', '統計', '统计', '图表', '趋势', '增长', '集計'],
  },
  {
    // Acting on the environment: commands, files, services, messages, bookings.
    cls: 'tool_orchestration',
    weight: 2,
    latin: [
      'run(?!\\p{L})', 'execut', 'exécut', 'ejecut', 'esegu', 'führ\\p{L}* .{0,40}aus(?!\\p{L})', 'launch', 'lance', 'restart', 'redémarr', 'reinici', 'starte\\p{L}* .{0,40}neu(?!\\p{L})', 'command',
      'deploy', 'déploi', 'despleg', 'list (?:the |all )?(?:files|director|folder|work)', 'delete', 'lösch', 'supprim', 'borra', 'elimin', 'remove',
      'send', 'envoie', 'envía', 'sende', 'invia', 'e-?mail(?!\\p{L})', 'slack', 'upload', 'download', 'télécharg', 'descarg', 'herunterlad', 'fetch', 'back (?:\\p{L}+ ){0,3}up(?!\\p{L})', 'backup',
      'copy', 'move', 'rename', 'install', 'commit', 'push', 'merge', 'book(?!\\p{L})', 'schedule (?:a|the)', 'invite(?!\\p{L})', 'reserv', 'open the', 'search the web', 'browse', 'server', 'host(?!\\p{L})',
      'service', 'dienst', 'bucket', 'ticket', 'jira', 'migration', 'dateien', 'ordner', 'directory', 'folder',
      'open (?:a |the )?(?:pull request|pr|issue|ticket)', 'branch', 'post (?:the|a|it|this|that)(?!\\p{L})', '#[a-z][\\w-]+', 'channel', 'copi(?:e|er|a)(?!\\p{L})', 'relanc', 'serveur', 'servidor', 'fichiers', 'archivos',
    ],
    cjk: ['実行', '削除', '送信', 'デプロイ', '执行', '删除', '发送', '部署', '下载', '上传', '运行', '再起動', '重启', '予約', '预订', 'サーバー', '服务器'],
  },
  {
    cls: 'conversation',
    weight: 3,
    latin: [
      '(?:hi|hello|hey|thanks|thank you|thx|cheers|bye|goodbye|ok|okay|cool|great|good (?:morning|afternoon|evening|night))(?!\\p{L})', 'how are you',
      'bonjour', 'salut(?!\\p{L})', 'merci', 'hallo', 'danke', 'guten (?:morgen|tag|abend)', 'hola', 'gracias', 'buen(?:os|as) (?:días|tardes|noches)', 'ciao', 'grazie', 'obrigad', 'olá', 'come stai', 'tudo bem', 'ça va', 'wie geht', 'qué tal', 'lol', 'sounds good', 'talk (?:tomorrow|later|soon)', 'see you', 'nice(?!\\p{L})', 'awesome', 'perfect(?!\\p{L})',
    ],
    cjk: ['こんにちは', 'ありがとう', 'おはよう', '你好', '谢谢', '早上好'],
  },
  {
    // Creative writing, planning, role play, advice: the rest of what people ask.
    cls: 'other',
    weight: 4,
    latin: [
      'poem', 'poème', 'gedicht', 'poesia', 'poema', 'story', 'histoire', 'geschichte', 'historia', 'storia', 'brainstorm', 'ideas', 'idées', 'ideen', 'names for', 'slogan', 'joke', 'draft a', 'recipe',
      'write (?:a |an )?(?:letter|reply|speech|toast|cover letter|song)', 'plan (?:for|de|für)', 'trainingsplan', 'stay in character', 'you are a', 'role-?play', 'regalo', 'gift', 'limerick', 'haiku', 'rede(?!\\p{L})', 'speech', 'trip(?!\\p{L})', 'itinerar', 'viaje', 'voyage', 'reise(?!\\p{L})', 'help me plan', 'plan a(?!\\p{L})', 'pretend', 'interview', 'eslogan', 'nombre para',
    ],
    cjk: ['詩', '诗', '故事', '物語', 'アイデア', '建议'],
  },
];

/** Interrogatives: with a question mark they make a question (question_answering). */
export const INTERROGATIVES = {
  latin: [
    'what', 'who', 'when', 'where', 'why', 'how', 'which', 'is (?:it|there|this)', 'are there', 'does', 'did',
    'pourquoi', 'comment', 'quand', "qu'est", 'quel', 'où', 'qui', 'warum', 'wieso', 'wie', 'was', 'wer', 'wann', 'wo', 'welche',
    'por qué', 'qué', 'cuál', 'cuándo', 'dónde', 'quién', 'cómo', 'perché', 'quando', 'dove', 'chi', 'come', 'qual', 'quanto', 'porque', 'onde',
  ],
  cjk: ['なぜ', 'どうして', '何', 'どれくらい', 'ですか', 'ますか', '为什么', '什么', '怎么', '多少', '吗', '哪', '谁', '如何'],
};

/** Asking for an explanation: question_answering even without a question mark. */
export const EXPLAIN = { latin: ['explain', 'expliqu', 'erklär', 'explica', 'spiega', 'describe how', 'tell me (?:about|why|how)'], cjk: ['説明して', '解释', '说明一下'] };
