"""What a line of notes is: its content without markup that is not content, and whether it asks, lists sources or
leads in a part of its own (run-in headings, lead-ins). The heading tree (tree.py) and the chunks (markdown.py) read
lines through these; the answer and the key points use the same shapes."""

from __future__ import annotations

import html
import re

from tutor.text import INVISIBLE_RE, data_lines
from tutor.types import NUMBER_MARKS

# not content: markup that renders as nothing, or as decoration
# an image; its alt text may hold brackets and its address parentheses one level deep (a formula rendered by a chart
# service: "![J(\theta) = C\sum {[{y^{(i)}} ...} ]](http://chart.apis.google.com/chart?chl=...)")
# a figure: a markdown image (inline or by reference) or an HTML <img> tag, as notes exported from Typora write them
IMAGE_RE = re.compile(
    r"!\[(?:[^\[\]]|\[[^\[\]]*\])*\]\((?:[^()]|\([^()]*\))*\)|!\[[^\]]*\]\[[^\]]*\]|<img\b[^<>]*>", re.IGNORECASE
)
HTML_TAG_RE = re.compile(r"</?[a-zA-Z][a-zA-Z0-9-]*(?:\s[^<>]*)?/?>|<!--.*?-->")
EMOJI_RE = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2300-\u23ff\ufe0e\ufe0f\u200d\u20e3]")
SPACES_RE = re.compile(r"[\u00a0\u2000-\u200a\u3000\u202f\u205f]")
PLACEHOLDER_RE = re.compile(  # bare or bracketed: "TODO", "[TODO]", "【待补充】", "(TBD)"
    r"[\[(（【]?\s*(?:answer(?: goes)? here|your answer here|todo|tbd|tbc|to ?do|wip|coming soon|fill (?:in|me)(?: later)?|"
    r"待补充|待完善|待更新|待续|未完待续|待写|暂无|略|答案待补充|\.{3,}|…+|\[toc\]|\[\[toc\]\]|-{3,}|\*{3,}|_{3,})\s*[\])）】]?"
    r"[.。!！]*",
    re.IGNORECASE,
)
# a link reference definition of a figure or a local file ("[52]: ./images/x.png "x.png""): it renders as nothing.
# One to a web page stays: it may be a source the notes cite. A footnote ("[^1]: …") is text.
LINK_DEFINITION_RE = re.compile(
    r"^ {0,3}\[(?!\^)[^\]]+\]:\s*<?(?!https?://)[^\s<>]*[./#][^\s<>]*>?(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*$"
    r"|^ {0,3}\[(?!\^)[^\]]+\]:\s*<?https?://\S+\.(?:png|jpe?g|gif|svg|webp|bmp)>?(?:\s+\S.*)?$",
    re.IGNORECASE,
)
ANSWER_MARK_RE = re.compile(r"^(\s*)(?:a|ans|answer|答)\s*[:：]\s*", re.IGNORECASE)
# a heading that only says "here is the answer" ("### 参考回答：", "#### Answer"): it labels its parent's answer
ANSWER_LABEL_RE = re.compile(
    r"^(?:(?:参考|标准|示例)?(?:答案|回答|解答|答)|(?:reference |sample |suggested |model )?(?:answers?|solutions?))\s*[:：]?$",
    re.IGNORECASE,
)
# headings that organise or list sources: never a question, and a reference list is never an answer
REFERENCE_HEADING_RE = re.compile(
    r"^(?:参考(?:文献|资料|链接|来源)?|引用|references?|bibliography|further reading|see also|sources?|links?|"
    r"citations?|reading list|相关链接|延伸阅读|扩展阅读)\s*[:：]?$",
    re.IGNORECASE,
)
NON_QUESTION_HEADING_RE = re.compile(r"^(?:目录|contents|table of contents|toc|\[toc\])$", re.IGNORECASE)
NUMBERING_RE = re.compile(rf"^\s*(?:(?:\d+\.)*\d+[.、)）]?|{NUMBER_MARKS})\s*", re.IGNORECASE)
# a bold line is a run-in heading, unless it is one parenthetical aside ("**（贡献者：某某－某大学）**")
BOLD_LINE_RE = re.compile(r"^\s*\*\*(?![（(][^（()）]*[)）]\*\*)(.+?)\*\*\s*[:：]?\s*$")
# a bold number that opens a line of title or question ("**2.** 样本不平衡的 4 个解决方法？"), alone in its paragraph
BOLD_NUMBER_RE = re.compile(r"^\s*\*\*\s*((?:\d+\.)*\d+[.、)）]?)\s*\*\*\s*([^*\s][^*]{0,299}?)\s*[:：]?\s*$")
# a short numbered lead line such as "（2）激活函数角度" works as a run-in heading too
NUMBERED_LEAD_RE = re.compile(r"^\s*((?:[（(]\s*\d+\s*[)）]|[①②③④⑤⑥⑦⑧⑨])\s*[^。！？!?；;，,]{1,24})\s*[:：]?\s*$")
# a short lead-in line ("解决办法：", "参考") that, after run-in headings, starts a part of its own
LEAD_IN_RE = re.compile(
    r"^\s*([^。！？!?；;，,:：]{1,12}(?=\s*[:：]\s*$)|参考(?:资料|文献|链接)?|references?|see also|further reading)"
    r"\s*[:：]?\s*$",
    re.IGNORECASE,
)
LIST_RE = re.compile(r"^\s*(?:[-*+•]|\d+[.)、])\s+")
QUESTION_CUES = re.compile("|".join(f"(?:{line})" for line in data_lines("question_cues.txt")), re.IGNORECASE)

BOLD_RE = re.compile(r"\*\*(.+?)\*\*|__(.+?)__")
CODE_RE = re.compile(r"`([^`]*)`")
LINK_RE = re.compile(r"\[([^\]]*)\]\((https?://[^)]*)\)")
# a list marker and a task box ("- [ ] ", "* [x] "): what a placeholder item ("- [ ] TODO") is written under
TASK_MARK_RE = re.compile(r"^(?:(?:[-*+•]|\d+[.)、])\s+)?(?:\[[ xX]?\]\s*)?")


def clean_line(raw: str) -> str:
    """A line without what is not content (images, HTML tags and entities, invisible characters, emoji markers,
    placeholders, an "A:" answer mark); blank when nothing is left. Indentation is kept."""
    if LINK_DEFINITION_RE.match(raw):
        return ""
    if raw.isascii() and "<" not in raw and "&" not in raw and "!" not in raw:
        text = raw
    else:
        text = IMAGE_RE.sub("", raw)
        text = HTML_TAG_RE.sub(" ", text)
        if "&" in text:
            text = html.unescape(text)
        text = INVISIBLE_RE.sub("", text)
        text = SPACES_RE.sub(" ", text)
        text = EMOJI_RE.sub("", text)
    text = ANSWER_MARK_RE.sub(r"\1", text)
    body = TASK_MARK_RE.sub("", text.strip().strip("*_>` ")).strip()
    if not body or PLACEHOLDER_RE.fullmatch(body):
        return ""
    return text.rstrip()


def strip_markup(text: str) -> str:
    text = BOLD_RE.sub(lambda m: m.group(1) or m.group(2), text)
    text = CODE_RE.sub(r"\1", text)
    text = LINK_RE.sub(r"\1 \2", text)
    return text.strip()


def readable(text: str) -> str:
    """Text with markup stripped, or as written when it is nothing but markup ("``", "****")."""
    return strip_markup(text) or text.strip()


UNASKED_RE = re.compile(r"[\W_]+")  # what is left of a heading once its cue is out: only punctuation names nothing


def is_question_text(text: str) -> bool:
    """Does a heading or line ask? Its numbering ("7.1.7", "一、", "Q1:") is read past first."""
    bare = NUMBERING_RE.sub("", text, count=1).strip()
    if not bare or REFERENCE_HEADING_RE.match(bare) or NON_QUESTION_HEADING_RE.match(bare):
        return False
    cue = QUESTION_CUES.search(bare)
    # "优缺点：", "Difference" alone name nothing they ask about: a label of its parent's topic, not a question
    return cue is not None and bool(UNASKED_RE.sub("", bare[: cue.start()] + bare[cue.end() :]))


def is_reference_heading(title: str) -> bool:
    return bool(REFERENCE_HEADING_RE.match(NUMBERING_RE.sub("", title, count=1).strip()))
