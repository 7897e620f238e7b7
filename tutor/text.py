"""Text helpers shared by retrieval, follow-up rewriting and grading: aliases, tokens, sentences.

Mixed Chinese/English terms are normalised to one canonical token before jieba sees them, so
"BN", "batch normalization" and "批归一化" all match each other in BM25.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache

# canonical token -> variants (the canonical form is always a variant of itself)
ALIASES: dict[str, tuple[str, ...]] = {
    "batchnorm": (
        "batch normalization",
        "batch normalisation",
        "batch norm",
        "batchnorm",
        "bn",
        "批归一化",
        "批标准化",
        "批量归一化",
        "批量标准化",
        "批规范化",
    ),
    "学习率": ("learning rate", "learning-rate", "lr", "学习速率", "学习率", "步长"),
    "梯度剪切": ("gradient clipping", "clip gradients", "clipping", "梯度裁剪", "梯度截断", "梯度剪切", "剪切", "裁剪"),
    "梯度消失": ("vanishing gradients", "vanishing gradient", "gradient vanishing", "vanishing", "梯度消失"),
    "梯度爆炸": ("exploding gradients", "exploding gradient", "gradient explosion", "exploding", "梯度爆炸"),
    "过拟合": ("overfitting", "over-fitting", "overfit", "过拟合", "过度拟合", "过度训练"),
    "正则化": ("regularization", "regularisation", "regularizer", "正则化", "正则"),
    "激活函数": ("activation functions", "activation function", "activations", "activation", "激活函数"),
    "卷积核": ("convolution kernel", "kernels", "kernel", "filters", "卷积核"),
    "conv1x1": (
        "1x1 convolution",
        "1x1 conv",
        "1*1卷积",
        "1×1卷积",
        "1x1的卷积核",
        "1x1卷积核",
        "1x1卷积",
        "pointwise convolution",
    ),
    "池化": ("pooling", "池化"),
    "残差": ("residual connections", "residual connection", "residual", "resnet", "skip connection", "残差"),
    "预训练": ("pre-training", "pretraining", "pretrained", "pre-trained", "预训练"),
    "微调": ("fine-tuning", "fine tuning", "finetuning", "finetune", "微调"),
    "初始化": ("initialization", "initialisation", "initializing", "init", "初始化"),
    "收敛": ("convergence", "converging", "converge", "收敛"),
    "归一化": ("normalization", "normalisation", "normalize", "normalizing", "standardization", "归一化", "标准化"),
    "噪音": ("noisy", "noise", "噪音", "噪声"),
    "标签": ("labels", "label", "标签", "标注"),
    "优化方法": ("optimizers", "optimizer", "optimization methods", "optimisers", "优化器", "优化方法", "优化算法"),
    "神经元": ("neurons", "neuron", "units", "unit", "神经元", "节点"),
    "反向传播": ("backpropagation", "back-propagation", "backprop", "反向传播"),
    "链式求导": ("chain rule", "链式求导", "链式法则"),
    "导数": ("derivatives", "derivative", "导数"),
    "批大小": ("batch size", "batch-size", "batchsize", "批大小", "批量大小", "批尺寸"),
    "组合": ("ensemble", "ensembles", "combining", "combination", "集成", "组合"),
    "预测": ("test time", "at test time", "inference", "prediction", "predicting", "predict", "测试时", "推理", "预测"),
    "数据集": ("datasets", "dataset", "data set", "数据集"),
    "输入": ("inputs", "input", "输入"),
    "指标": ("metrics", "metric", "accuracy", "指标", "精度", "准确率"),
    "复杂度": ("complexity", "复杂度"),
    "解决": (
        "solutions",
        "solution",
        "solve",
        "fixes",
        "fix",
        "remedies",
        "remedy",
        "mitigate",
        "解决方法",
        "解决办法",
        "办法",
        "解决",
        "缓解",
    ),
    "原因": ("causes", "cause", "reasons", "reason", "原因", "导致"),
    "循环神经网络": ("recurrent neural network", "循环神经网络"),
    "卷积神经网络": ("convolutional neural network", "卷积神经网络"),
    "门": ("gates", "gate", "门控", "门"),
    "结构": ("architecture", "structure", "结构", "架构"),
    "权重": ("weights", "weight", "权重", "权值"),
    "随机": ("random", "randomly", "随机"),
    "丢弃": ("drop", "dropping", "dropped", "丢弃", "丢掉", "删除"),
    "损失": ("loss", "损失"),
    "训练": ("training", "train", "训练"),
    "网络": ("networks", "network", "网络"),
    "打印": ("print", "printing", "display", "visualize", "打印", "显示"),
    "目标": ("targets", "target", "目标"),
    "批量": ("mini-batches", "mini-batch", "batches", "批量", "批次"),
    "检查": ("check", "checking", "inspect", "inspecting", "debug", "debugging", "sanity check", "检查", "排查"),
    "监控": ("monitoring", "monitor", "track", "tracking", "监控", "监测"),
    "像素": ("pixels", "pixel", "像素"),
    "混淆": ("mixed up", "mix up", "swapped", "swap", "confused", "弄反", "搞反", "混淆"),
    "关联": ("correlation", "correlated", "relationship", "relation", "related", "关联", "相关性", "关系"),
    "股票": ("stocks", "stock", "股票"),
    "均值": ("zero mean", "mean", "均值"),
    "方差": ("unit variance", "variance", "方差"),
    "局部最小值": ("local minima", "local minimum", "局部最小值", "局部极小"),
    "指数": ("exponentially", "exponential", "指数"),
    "层数": ("number of layers", "layers", "depth", "层数"),
    "防止": ("prevent", "prevents", "avoid", "reduce", "reduces", "防止", "避免", "预防"),
    "加速": ("speed up", "speeds up", "accelerate", "accelerates", "加速", "加快"),
    "速度": ("speed", "faster", "slower", "速度"),
    "影响": ("effect", "effects", "impact", "affect", "affects", "影响"),
    "区别": ("difference", "differences", "differ", "vs", "versus", "compare", "区别", "不同", "对比"),
    "优点": ("advantages", "advantage", "pros", "benefits", "优点", "优势", "好处"),
    "缺点": ("disadvantages", "disadvantage", "cons", "drawbacks", "缺点", "劣势", "不足"),
    "场景": ("use cases", "scenarios", "scenario", "when to use", "场景", "场合"),
    "子网络": ("sub-networks", "sub-network", "subnetworks", "subnetwork", "子网络", "子模型"),
    "手推": ("derive by hand", "by hand", "derivation", "derive", "推导", "手推"),
    "深层": ("deep networks", "deeper", "deep", "深层", "很深", "太深"),
    "模型": ("models", "model", "模型"),
}

# well-known terms the notes may not use: kept whole, so "核函数" cannot match the notes' "损失函数" via "函数"
KNOWN_TERMS = (
    "核函数",
    "支持向量机",
    "生成对抗网络",
    "判别器",
    "生成器",
    "注意力机制",
    "自注意力",
    "聚类",
    "决策树",
    "随机森林",
    "朴素贝叶斯",
    "逻辑回归",
    "线性回归",
    "主成分分析",
    "强化学习",
    "迁移学习",
    "知识蒸馏",
    "词向量",
    "推荐系统",
)

STOPWORDS = set(
    [
        "的",
        "了",
        "是",
        "在",
        "和",
        "与",
        "或",
        "及",
        "吗",
        "呢",
        "啊",
        "吧",
        "么",
        "呀",
        "嘛",
        "什么",
        "为什么",
        "为何",
        "怎么",
        "怎么样",
        "怎样",
        "如何",
        "哪些",
        "哪个",
        "哪",
        "一下",
        "讲",
        "说",
        "讲讲",
        "说说",
        "谈谈",
        "介绍",
        "介绍一下",
        "你",
        "我",
        "他",
        "她",
        "它",
        "我们",
        "你们",
        "他们",
        "这",
        "那",
        "这个",
        "那个",
        "这些",
        "那些",
        "一个",
        "一种",
        "有",
        "有没有",
        "有哪些",
        "可以",
        "能",
        "能够",
        "会",
        "要",
        "就",
        "也",
        "都",
        "还",
        "又",
        "把",
        "被",
        "对",
        "从",
        "中",
        "上",
        "下",
        "为",
        "以",
        "之",
        "其",
        "请",
        "问",
        "关于",
        "一些",
        "理解",
        "角度",
        "方面",
        "分别",
        "各自",
        "呢",
        "么",
        "些",
        "吗",
        "并",
        "而",
        "但",
        "但是",
        "所以",
        "因为",
        "如果",
        "那么",
        "然后",
        "比",
        "更",
        "最",
        "很",
        "太",
        "多",
        "少",
        "个",
        "用",
        "使用",
        "作用",
        "问题",
        "时候",
        "时",
        "里",
        "中的",
        "之间",
        "以及",
        "还是",
        "or",
        "and",
        "the",
        "a",
        "an",
        "of",
        "to",
        "in",
        "on",
        "for",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "do",
        "does",
        "did",
        "what",
        "why",
        "how",
        "which",
        "who",
        "whom",
        "when",
        "where",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "there",
        "here",
        "me",
        "my",
        "you",
        "your",
        "we",
        "our",
        "they",
        "their",
        "he",
        "she",
        "about",
        "with",
        "as",
        "by",
        "at",
        "from",
        "into",
        "can",
        "could",
        "would",
        "should",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "please",
        "tell",
        "explain",
        "describe",
        "between",
        "than",
        "then",
        "so",
        "such",
        "also",
        "just",
        "only",
        "not",
        "no",
        "yes",
        "if",
        "i",
        "am",
        "does",
        "doesn",
        "t",
        "s",
        "should",
        "few",
        "whether",
        "work",
        "works",
        "won",
        "make",
        "makes",
        "made",
        "larger",
        "large",
        "small",
        "smaller",
        "need",
        "needs",
        "before",
        "after",
        "notes",
        "note",
        "specifically",
        "help",
        "helps",
        "use",
        "used",
        "using",
        "sure",
        "likely",
        "good",
        "better",
        "best",
        "really",
        "very",
        "much",
        "many",
        "more",
        "most",
        "some",
        "any",
        "each",
        "other",
        "others",
        "one",
        "get",
        "got",
        "way",
        "ways",
        "thing",
        "things",
        "kind",
        "keep",
        "doing",
        "done",
        "happen",
        "happens",
        "mean",
        "means",
        "both",
        "view",
        "point",
        "points",
        "perspective",
        "side",
        "actually",
        "exactly",
        "typically",
        "usually",
        "common",
        "commonly",
        "let",
        "lets",
        "give",
        "应该",
        "可能",
        "没有",
        "不会",
        "还能",
        "主要",
        "用来",
        "具体",
        "一直",
        "好像",
        "很多",
        "简单",
        "需要",
        "或者",
        "还可以",
        "什么样",
        "哪种",
        "是否",
        "是不是",
        "为啥",
        "咋",
        "到底",
        "一般",
        "通常",
        "常见",
        "常用",
        "怎么办",
        "怎么样",
        "如何",
        "能否",
        "能不能",
        "可不可以",
        "会不会",
        "有用",
        "有效",
        "时会",
        "地",
        "得",
        "着",
        "过",
        "来",
        "去",
        "做",
        "看",
        "想",
        "觉得",
        "知道",
        "告诉",
        "请问",
        "解释",
        "解释一下",
        "说明",
        "一样",
        "这样",
        "那样",
        "这种",
        "那种",
        "哪里",
    ]
)

TOKEN_RE = re.compile(r"[a-z0-9][a-z0-9._+\-]*[a-z0-9+]|[a-z0-9]|[\u3400-\u9fff]+")
CJK_RE = re.compile(r"[\u3400-\u9fff]")
SENTENCE_RE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;]*|[。！？!?；;]+")
LATIN_EDGE = re.compile(r"^[a-z0-9]|[a-z0-9]$")


def _variant_pattern(variants) -> re.Pattern[str]:
    """The longest variant at each position, as a trie-shaped regex.

    A flat alternation of ~400 variants costs ~0.2 ms per call even on short text, which made tokenizing
    100k chunks take minutes; the trie lets the regex engine reject a position after one character.
    Latin variants must stand as words ("bn" not inside "bnorm"); CJK variants match anywhere.
    """
    trie: dict = {}
    for variant in {v.lower() for v in variants}:
        node = trie
        for ch in variant:
            node = node.setdefault(ch, {})
        node[""] = variant  # a variant ends here

    def emit(node: dict) -> str:
        branches = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if "" in node:  # ending here is tried last, so the longest variant wins
            variant = node[""]
            edge = rf"(?<![a-z0-9].{{{len(variant)}}})(?![a-z0-9])" if LATIN_EDGE.search(variant) else ""
            branches.append(edge)
        if len(branches) == 1:
            return branches[0]
        return "(?:" + "|".join(branches) + ")"

    return re.compile(emit(trie), re.DOTALL)


_VARIANTS = {v.lower(): c for c, vs in ALIASES.items() for v in (c, *vs)}
_PATTERN = _variant_pattern(_VARIANTS)


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    for word in (*ALIASES, *KNOWN_TERMS):
        tokenizer.add_word(word, freq=200000)
    return tokenizer


@lru_cache(maxsize=1)
def tokenizer_fingerprint() -> str:
    """Changes whenever `tokenize` may split text differently (any edit of this module, another jieba);
    an index reuses the terms it stored only while the fingerprint holds."""
    import hashlib
    from pathlib import Path

    import jieba

    source = Path(__file__).read_bytes()
    return hashlib.sha1(source + jieba.__version__.encode()).hexdigest()[:16]


def is_chinese(text: str) -> bool:
    """True when the text is mostly written in Chinese (decides the language of replies)."""
    cjk = len(CJK_RE.findall(text))
    latin = len(re.findall(r"[A-Za-z]+", text))
    return cjk > 0 and cjk >= latin


def canonicalize(text: str) -> str:
    """Lower-case and replace every alias by its canonical token, padded with spaces."""
    low = text.lower()
    return _PATTERN.sub(lambda m: f" {_VARIANTS[m.group(0)]} ", low)


def tokenize(text: str, keep_stopwords: bool = False) -> list[str]:
    """Content tokens: canonical aliases, jieba words for Chinese runs, lower-case Latin words."""
    out: list[str] = []
    canon = canonicalize(text)
    for match in TOKEN_RE.finditer(canon):
        token = match.group(0)
        if CJK_RE.match(token):
            words = [token] if token in ALIASES else _jieba().lcut_for_search(token)
        else:
            words = [token]
        for word in words:
            # single Chinese characters carry little meaning on their own, unless an alias made them
            if keep_stopwords or (word not in STOPWORDS and (len(word) > 1 or word.isdigit() or word in ALIASES)):
                out.append(word)
    return out


def sentences(text: str) -> list[str]:
    """Sentences and list items of a passage, punctuation kept, blank pieces dropped."""
    out = []
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            continue
        if re.match(r"^\s*(?:[-*+•]|\d+[.)、])\s+", line):
            out.append(line)
            continue
        out.extend(s.strip() for s in SENTENCE_RE.findall(line) if s.strip(" 。！？!?；;，,"))
    return out
