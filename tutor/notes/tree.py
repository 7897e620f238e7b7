"""A file's heading tree: CommonMark's headings and fenced code with their line maps (markdown-it-py), numbered
headings nested by their numbers, then the units real notes write without headings: question lines, bold and
numbered run-in headings, lead-ins, a detached last question. Every body line keeps its line number."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tutor.notes.lines import (
    ANSWER_LABEL_RE,
    BOLD_LINE_RE,
    BOLD_NUMBER_RE,
    IMAGE_RE,
    LEAD_IN_RE,
    LIST_RE,
    NUMBERED_LEAD_RE,
    TASK_MARK_RE,
    clean_line,
    is_question_text,
    is_reference_heading,
    readable,
)
from tutor.text import CJK_RE
from tutor.urls import URL_RE

QA_LINE_RE = re.compile(r"^\s*(?:\*\*)?(?:q|question|问|问题)\s*\d*\s*[:：.]\s*(.+?)(?:\*\*)?\s*$", re.IGNORECASE)
# a dotted section number ("10.4", "7.1.2", "10.6.1."): 10.4.1 belongs to 10.4 whatever its # level
SECTION_NUMBER_RE = re.compile(r"^\s*(\d+(?:\.\d+)+)(?![\d%])\.?")
CLAUSE_BREAK_RE = re.compile(r"[，,；;。]\s*\S")  # a break between two clauses of one line
CLAUSE_END_RE = re.compile(r"[。！？!?；;，,]|\.\s")
MAX_QUESTION_LINE = 80  # a question line's width (`line_width`): 80 Chinese characters, or 40 words
# a numbered line, quoted or not: "> 1、Transformer为什么除以根号d_k", "3. Why does dropout work?", "（2）为什么…"
# "1、…", "(2) …", and in a list item also a roman or letter mark: "* ii. What are some of the algorithms …?"
NUMBERED_LINE_RE = re.compile(
    r"^\s*(?:>\s*)*(?:((?:\d+\s*[、.．)）]|[（(]\s*\d+\s*[)）])\s*\S.*?)|[-*+]\s+((?:[ivx]+|[a-h])[.)]\s+\S.*?))\s*$",
    re.IGNORECASE,
)
WORD_RE = re.compile(r"[^\W\u3400-\u9fff]+")


def line_width(text: str) -> int:
    """How long a line reads: a Chinese character counts one, a word of any other script two (a word says about
    what two characters do), so one limit fits question lines in either language."""
    return len(CJK_RE.findall(text)) + 2 * len(WORD_RE.findall(text))


DETACH_GAP = 3  # a line after this many blank lines has left the sub-section above it


@dataclass
class Node:
    title: str
    path: tuple[str, ...]
    level: int
    line: int  # 0 for the file's root
    is_question: bool
    body: list[tuple[int, str]] = field(default_factory=list)  # (line no, raw line)
    children: list[Node] = field(default_factory=list)
    pseudo: bool = False  # a bold run-in heading or a question line
    line_text: str = ""  # a lead-in's own line ("解决办法："), kept as written in its text


def paragraphs(lines: list[tuple[int, str]]) -> list[list[tuple[int, str]]]:
    """Paragraphs: runs of non-blank lines, each with its line number; a $$ display formula is one block."""
    out: list[list[tuple[int, str]]] = []
    cur: list[tuple[int, str]] = []
    in_math = False
    for no, raw in lines:
        stripped = raw.strip()
        # a formula or a table right under a paragraph starts a block of its own, and so does what follows it
        if cur and not in_math and _starts_whole(stripped) != _starts_whole(cur[-1][1].strip()):
            out.append(cur)
            cur = []
        if stripped.count("$$") % 2:
            in_math = not in_math
        if stripped or in_math:
            if stripped:
                cur.append((no, raw))
        elif cur:
            out.append(cur)
            cur = []
    if cur:
        out.append(cur)
    return out


def _starts_whole(line: str) -> bool:
    return line.startswith(("$$", "|"))


def _gap_before(lines: list[tuple[int, str]], block: list[tuple[int, str]]) -> int:
    first = block[0][0]
    blank = 0
    for no, raw in reversed(lines):
        if no >= first:
            continue
        if raw.strip():
            break
        blank += 1
    return blank


UNSPACED_HEADING_RE = re.compile(r"^(#{1,6})([^\s#].{0,120})$")


def _headings(text: str) -> tuple[dict[int, tuple[int, str]], set[int], set[int]]:
    """CommonMark's headings: line -> (level, title), the setext underline lines, and the fenced-code lines."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark", {"html": True}).parse(text)
    found: dict[int, tuple[int, str]] = {}
    underlines: set[int] = set()
    code: set[int] = set()
    tag_like: dict[int, tuple[int, str]] = {}  # "#梯度下降": a heading only in a file that writes them unspaced
    writes_unspaced = False
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open" and tok.map and tok.level == 0:
            start, end = tok.map
            title = tokens[i + 1].content if i + 1 < len(tokens) else ""
            found[start + 1] = (int(tok.tag[1]), title.replace("\n", " "))
            if tok.markup in ("=", "-"):  # setext: the title line(s), then the underline
                underlines.update(range(start + 2, end + 1))
        elif tok.type == "paragraph_open" and tok.map and tok.level == 0 and tok.map[1] - tok.map[0] == 1:
            # "##RNN/CNN/Transformer": no space after the marks, which CommonMark reads as text; alone as a paragraph
            # of two or more marks it is a heading as its writer meant. One mark may be a tag ("#todo"): it is a
            # heading only in a file whose writer puts no space after the marks of its other headings ("##感知机"
            # over "#梯度下降")
            unspaced = UNSPACED_HEADING_RE.match(tokens[i + 1].content) if i + 1 < len(tokens) else None
            if unspaced:
                level = len(unspaced.group(1))
                writes_unspaced = writes_unspaced or level > 1
                (found if level > 1 else tag_like)[tok.map[0] + 1] = (level, unspaced.group(2).strip())
        elif tok.type == "fence" and tok.map:
            code.update(range(tok.map[0] + 1, tok.map[1] + 1))
    if writes_unspaced:
        found.update(tag_like)
    return found, underlines, code


def _section_number(title: str) -> tuple[str, ...] | None:
    match = SECTION_NUMBER_RE.match(title)
    return tuple(match.group(1).split(".")) if match else None


def _nest_by_number(stack: list[Node], title: str) -> bool:
    """Put a numbered heading where its number says, when the # levels say otherwise; False leaves it to the levels.
    A book copied together from chapters writes "### 10.4 网络搭建有什么原则？" right after "## 12.3.5 Caffe的有哪些
    接口？": by its levels, 10.4 and everything under it would sit inside the Caffe section and be searched with its
    words. A numbered heading goes under the deepest open heading whose number is a prefix of its own (10.4.1 under
    10.4); with none, but other numbered headings open, beside the outermost of them."""
    number = _section_number(title)
    if number is None:
        return False
    numbered = [(i, own) for i, n in enumerate(stack) if i and (own := _section_number(n.title)) is not None]
    if not numbered:
        return False
    parent = next((i for i, own in reversed(numbered) if len(own) < len(number) and number[: len(own)] == own), None)
    del stack[(parent + 1) if parent is not None else numbered[0][0] :]
    return True


def _figure_leads(lines: list[str], skip: set[int]) -> frozenset[int]:
    """Lines that only introduce the figure under them ("sigmoid函数的函数及导数图如下所示：" over an image): a paragraph
    of one clause that ends in a colon, the next non-blank line an image alone. Without the figure, which the
    tutor cannot show or read, they say nothing."""
    leads = set()
    for no, raw in enumerate(lines, start=1):
        if not IMAGE_RE.search(raw) or clean_line(raw).strip() or no in skip:
            continue
        prev = no - 1
        while prev >= 1 and not lines[prev - 1].strip():
            prev -= 1
        if prev < 1 or prev in skip or (prev > 1 and lines[prev - 2].strip()):
            continue
        text = LIST_RE.sub("", clean_line(lines[prev - 1]).strip(), count=1)  # "1. " is a marker, not a clause
        if text.endswith((":", "：")) and not CLAUSE_END_RE.search(text[:-1]):
            leads.add(prev)
    return frozenset(leads | _captions(lines, skip))


def _captions(lines: list[str], skip: set[int]) -> set[int]:
    """Captions: in a block of lines that holds figures, where every line of text is one clause with an image alone
    right under it ("- 显示数据" / image / "- 等高线" / image), the text only names the figure it sits over."""
    out: set[int] = set()
    for block in paragraphs([(no, "" if no in skip else raw) for no, raw in enumerate(lines, start=1)]):
        images = {no for no, raw in block if IMAGE_RE.search(raw) and not clean_line(raw).strip()}
        texts = [(no, raw) for no, raw in block if no not in images]
        if images and texts and all(no + 1 in images for no, _ in texts):
            bare = [LIST_RE.sub("", clean_line(raw).strip(), count=1).rstrip(":： ") for _, raw in texts]
            if all(t and not CLAUSE_END_RE.search(t) for t in bare):
                out.update(no for no, _ in texts)
    return out


def _parse_tree(text: str) -> tuple[Node, frozenset[int]]:
    """The heading tree of a file, and its figure lead-in lines."""
    root = Node(title="", path=(), level=0, line=0, is_question=False)
    stack = [root]
    headings, underlines, code = _headings(text)
    lines = text.split("\n")
    leads = _figure_leads(lines, code | underlines | set(headings))
    for no, raw in enumerate(lines, start=1):
        if no in underlines:
            stack[-1].body.append((no, ""))
            continue
        heading = headings.get(no)
        if heading is None:
            stack[-1].body.append((no, raw if no in code else clean_line(raw)))
            continue
        level, title = heading[0], readable(clean_line(heading[1]))
        # a heading that is only an emoji or an image is no heading; one that only says "here is the answer"
        # ("### 参考回答：", "#### Answer") labels its parent's answer: its text belongs to the question above
        if not title or ANSWER_LABEL_RE.match(title):
            stack[-1].body.append((no, ""))
            continue
        if not _nest_by_number(stack, title):
            while stack[-1].level >= level:
                stack.pop()
        node = Node(title, stack[-1].path + (title,), level, no, is_question_text(title))
        stack[-1].children.append(node)
        stack.append(node)
    return root, leads


def _split_pseudo(node: Node, under_question: bool = False) -> None:
    """Turn question lines and bold run-in headings of a body into child units of their own."""
    for child in node.children:
        _split_pseudo(child, under_question or node.is_question)
    blocks = paragraphs(node.body)
    if not blocks:
        return
    # A topic heading whose body is only short single lines that ask: each line is a question.
    if node.level and not node.is_question and _only_questions(blocks):
        node.children = [_pseudo(node, b[0], question=True) for b in blocks] + node.children
        node.body = []
        return
    _split_run_ins(node, blocks, under_question)
    if not (under_question or node.is_question):
        _split_outline(node)


MAX_CHUNK_CHARS = 320  # a passage: e5-small's 512-token window holds this much Chinese with the heading path
OUTLINE_SHARE = 0.8  # a body is an outline when this share of its lines or more are list items
LINK_ITEM_RE = re.compile(r"^\[[^\]]*\]\([^)]*\)\s*$")  # an item that is only a link: a contents entry


def _indent(raw: str) -> int:
    return len(raw.expandtabs(4)) - len(raw.expandtabs(4).lstrip())


def _split_outline(node: Node) -> None:
    """A body written as an outline, list items nested under list items with no headings ("* Generalization" /
    "  * how to improve" / "    * dropout"), is a tree too: each item of its outer level is a unit of its own, and
    one with items under it is the topic (or the question) they are about, split again the same way. Only an
    outline longer than a passage holds is split (a short one is read whole), and only where two or more outer
    items, and half of them or more, have items under them: a plain list stays one block, and so does a table of
    contents."""
    text = [(no, raw) for no, raw in node.body if raw.strip()]
    listed = [(no, raw) for no, raw in text if LIST_RE.match(raw)]
    if not listed or len(listed) < OUTLINE_SHARE * len(text):
        return
    if len("".join(raw.strip() for _, raw in text)) <= MAX_CHUNK_CHARS:
        return
    # the outer items: those less indented than the text of the first outer item (a space or two more is still its
    # sibling, as CommonMark reads " * Residual network" after "* Dropout")
    first = min(listed, key=lambda line: _indent(line[1]))[1]
    content = len(LIST_RE.match(first.expandtabs(4)).group(0))  # type: ignore[union-attr]
    items = [i for i, (_, raw) in enumerate(node.body) if LIST_RE.match(raw) and _indent(raw) < content]
    # an item that is only a link points elsewhere: it stays with the item above it, and a list of them is a table
    # of contents or of sources, no outline
    starts = [i for i in items if not LINK_ITEM_RE.match(_item_text(node.body[i][1]))]
    if not starts:
        return
    if 2 * len(starts) <= len(items):
        return
    spans = list(zip(starts, starts[1:] + [len(node.body)], strict=True))
    nested = [(a, b) for a, b in spans if any(raw.strip() for _, raw in node.body[a + 1 : b])]
    # the items with items under them name what those are about ("imbalanced data", "ROC 和 AUC"): a sentence
    # with its details under it ("Word2Vec 本质上也是一个神经语言模型，但是……") is text, and so is the outline; and
    # they are half the items or more (a list of statements, two of them with a detail under them, is a list)
    if len(nested) < 2 or 2 * len(nested) < len(spans) or not all(_label(node.body[a][1]) for a, _ in nested):
        return
    # sentences before the first topic introduce the outline ("Attention有多种不同的类型：…"): text of the node
    lead = next(k for k, (a, b) in enumerate(spans) if (a, b) in nested or _label(node.body[a][1]))
    merged: list[tuple[int, int]] = []
    for a, b in spans[lead:]:  # an item with no words of its own stays with the one above it
        if merged and not _title(node.body[a][1]):
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    units: list[Node] = []
    for a, b in merged:
        no, raw = node.body[a]
        unit = _pseudo(node, (no, _title(raw) or raw.strip()), question=is_question_text(_title(raw)))
        unit.line_text = raw.strip()
        unit.body = node.body[a + 1 : b]
        if not unit.is_question:
            _split_outline(unit)
        units.append(unit)
    node.body = node.body[: merged[0][0]]
    node.children = units + node.children


def _item_text(raw: str) -> str:
    """A list item's text without its marker and task box."""
    return TASK_MARK_RE.sub("", raw.strip(), count=1)


def _title(raw: str) -> str:
    return readable(_item_text(raw))


MAX_LABEL_WIDTH = 40  # a label: 40 Chinese characters or 20 words (`line_width`), half a question line


def _label(raw: str) -> bool:
    """Is a list item a label: short, one clause, not a statement ("计算区域", "imbalanced data"; not "Attention有多种
    不同的类型：Soft Attention、Hard Attention等等。")?"""
    text = _title(raw)
    if not text or line_width(text) > MAX_LABEL_WIDTH or CLAUSE_BREAK_RE.search(text):
        return False
    return not PROSE_END_RE.search(text) and not LABEL_COLON_RE.search(text)


LABEL_COLON_RE = re.compile(r"[:：]\s*\S")  # "两套模型：CBOW 和 Skip-Gram" says what it names


def _only_questions(blocks: list[list[tuple[int, str]]]) -> bool:
    """Is every paragraph one short line that asks (not a list item, a run-in heading or a link)?"""
    single = all(len(b) == 1 and not LIST_RE.match(b[0][1]) and _run_in_title(b[0][1]) is None for b in blocks)
    short = all(line_width(b[0][1]) <= MAX_QUESTION_LINE and not URL_RE.search(b[0][1]) for b in blocks)
    return single and short and all(is_question_text(b[0][1]) and not _prose_line(b[0][1]) for b in blocks)


PROSE_END_RE = re.compile(r"[。.！!]\s*(?:\*\*|__)?\s*$")  # a statement's end


def _prose_line(line: str) -> bool:
    """A line of several clauses that ends as a statement does is prose, not a question line: "这个问题其实很有意思，
    理解的最核心的点在于：为什么LayerNorm…可以起到效果。"; "LSTM中每个gate的作用是什么，为什么…可以防止梯度消失" and
    "介绍一下BN。" ask."""
    return bool(CLAUSE_BREAK_RE.search(line.strip()) and PROSE_END_RE.search(line))


def _split_run_ins(node: Node, blocks: list[list[tuple[int, str]]], under_question: bool) -> None:
    """Q: lines, bold or numbered run-in headings and the lead-ins after them start units of their own."""
    bold_starts = {b[0][0]: title for b in blocks if len(b) == 1 and (title := _run_in_title(b[0][1]))}
    if not (under_question or node.is_question):
        # a bold line that asks starts its question even when the answer begins on the very next line
        # ("**Q8- What's the difference between Type I and Type II error?**" / "Type I errors are …")
        bold_starts.update(
            (b[0][0], title)
            for b in blocks
            if len(b) > 1
            and (title := _run_in_title(b[0][1], numbered_lead=False))
            and is_question_text(readable(title))
        )
        # a numbered line alone in its paragraph, with its answer in the next one, is a unit of its own when it asks
        # ("> 1、Transformer为什么除以根号d_k" over its <details> answer); where two or more such lines ask, the
        # ones that do not ask are units too, topics ("> 2、Transformer self attn的机制")
        numbered = {
            b[0][0]: title
            for b, after in zip(blocks, blocks[1:], strict=False)
            if len(b) == 1
            and b[0][0] not in bold_starts
            and (title := _numbered_line(b[0][1]))
            and not _numbered_line(after[0][1])
        }
        asking = {no: title for no, title in numbered.items() if is_question_text(readable(title))}
        bold_starts.update(numbered if len(asking) >= 2 else asking)
    # a list item's roman or letter mark ("* ii. …") numbers a sub-question of the run-in topic above it
    sub_items = {no for no, raw in node.body if no in bold_starts and (m := NUMBERED_LINE_RE.match(raw)) and m.group(2)}
    # "Q: …" starts a question wherever it stands, its answer ("A: …") on the lines below
    qa_starts = {no: m for no, raw in node.body if (m := QA_LINE_RE.match(raw))}
    # after run-in headings, a lead-in line closes the last one ("解决办法：" is not part of "（2）激活函数角度")
    lead_ins = {b[0][0]: LEAD_IN_RE.match(b[0][1]) for b in blocks if len(b) == 1}
    asked = _opening_question(node, blocks, under_question)
    pseudo: list[Node] = []
    current: Node | None = None  # the unit the lines belong to
    last_numbered: Node | None = None  # the last unit whose title is numbered ("4.", "12. Naive Bayes classifier.")
    own: list[tuple[int, str]] = []
    for no, raw in node.body:  # blank lines stay with their unit: gaps matter to _detach_trailing_questions
        bold, lead, qa = bold_starts.get(no), lead_ins.get(no), qa_starts.get(no)
        topic = last_numbered if last_numbered is not None and not last_numbered.is_question else None
        if qa:
            current = _pseudo(node, (no, qa.group(1)), question=True)
        elif no == asked:
            current = _pseudo(node, (no, raw.strip()), question=True)
        elif bold:
            # a bold line that asks, with its answer under it, is a question ("**为什么要用BN？**"); under a
            # question it is one of that question's points
            asks = not (under_question or node.is_question) and is_question_text(readable(bold))
            if no in sub_items and topic is not None:  # "**4.** Feature selection" / "* i. Why do we use it?"
                topic.children.append(_pseudo(topic, (no, bold), question=asks))
                current = topic.children[-1]
                continue
            current = _pseudo(node, (no, bold), question=asks)
        elif current is not None and lead and not current.is_question:  # a question's answer may have lead-ins
            current = _pseudo(node, (no, lead.group(1)), question=False)
            current.line_text = raw.strip()
        elif current is not None:
            current.body.append((no, raw))
            continue
        else:
            own.append((no, raw))
            continue
        pseudo.append(current)
        if current.title[:1].isdigit():
            last_numbered = current
    node.body = own
    node.children = pseudo + node.children


def _run_in_title(line: str, numbered_lead: bool = True) -> str | None:
    """The title of a run-in heading line: a bold line, a bold number and its title ("**2.** 样本不平衡的 4 个解决
    方法？"), or (numbered_lead) a short numbered lead line ("（2）激活函数角度")."""
    if m := BOLD_LINE_RE.match(line):
        return m.group(1)
    if (m := BOLD_NUMBER_RE.match(line)) and line_width(m.group(2)) <= MAX_QUESTION_LINE:
        return f"{m.group(1)} {m.group(2)}"
    m = NUMBERED_LEAD_RE.match(line) if numbered_lead else None
    return m.group(1) if m else None


def _numbered_line(line: str) -> str | None:
    """The text of a short numbered line ("> 1、Transformer为什么除以根号d_k"), else None."""
    m = NUMBERED_LINE_RE.match(line)
    text = m and (m.group(1) or m.group(2))
    if not text or line_width(text) > MAX_QUESTION_LINE or URL_RE.search(line):
        return None
    return text


QUESTION_MARK_END_RE = re.compile(r"[？?]\s*(?:\*\*|__)?\s*$")  # a sentence that asks ends so; "…的区别在于…" does not


def _opening_question(node: Node, blocks: list[list[tuple[int, str]]], under_question: bool) -> int | None:
    """The line of a topic's first paragraph when it is one short sentence that asks (it ends in a question mark)
    and more follows: the question the section answers ("## Q11 - 皮尔逊相关系数" / "两个变量的 Pearson 相关性系数为零，
    但……可以相关？" / options / answer), not a line of the answer."""
    if not node.level or node.is_question or under_question or len(blocks) < 2 or len(blocks[0]) != 1:
        return None
    no, raw = blocks[0][0]
    line = raw.strip()
    if line_width(line) > MAX_QUESTION_LINE or LIST_RE.match(line) or URL_RE.search(line) or _run_in_title(line, False):
        return None
    return no if QUESTION_MARK_END_RE.search(line) and is_question_text(readable(line)) else None


def _pseudo(parent: Node, line: tuple[int, str], question: bool) -> Node:
    title = readable(line[1])
    return Node(title, parent.path + (title,), parent.level + 1, line[0], question, pseudo=True)


def _detach_trailing_questions(root: Node) -> None:
    """A short question line far below the last sub-section belongs to the top-level topic."""

    def last_leaf(node: Node) -> list[Node]:
        chain = [node]
        while chain[-1].children:
            chain.append(chain[-1].children[-1])
        return chain

    for top in root.children:
        chain = last_leaf(top)
        leaf = chain[-1]
        if leaf is top:
            continue
        blocks = paragraphs(leaf.body)
        if not blocks:
            continue
        last = blocks[-1]
        text = last[0][1].strip()
        detached = len(last) == 1 and len(blocks) > 1 and _gap_before(leaf.body, last) >= DETACH_GAP
        # "batch size对收敛速度的影响。" is a question by its place, even without a question mark
        if detached and line_width(text) <= MAX_QUESTION_LINE and (is_question_text(text) or len(text) <= 40):
            leaf.body = [(no, raw) for no, raw in leaf.body if no < last[0][0]]
            top.children.append(_pseudo(top, last[0], question=True))


def _repath(node: Node, parent: Node) -> None:
    node.path = parent.path + (node.title,)
    for child in node.children:
        _repath(child, node)


def _adopt_sub_headings(node: Node) -> None:
    """A bold question with nothing under it, followed by deeper headings, is answered by them ("**Q2 How is KNN
    different from k-means?**" / "##### KNN" / "##### K Means"); the bold questions written after them, which
    markdown puts under the last of those headings, are the next questions of the same list, not parts of it."""
    for child in node.children:
        _adopt_sub_headings(child)
    units = sorted(node.children, key=lambda c: c.line)
    out: list[Node] = []
    adopted = False
    i = 0
    while i < len(units):
        unit = units[i]
        out.append(unit)
        i += 1
        unanswered = unit.pseudo and unit.is_question and not unit.children
        if not unanswered or any(raw.strip() for _, raw in unit.body):
            continue
        lifted: list[Node] = []
        while i < len(units) and not units[i].pseudo:
            heading = units[i]
            i += 1
            lifted += [c for c in heading.children if c.pseudo and c.is_question]
            heading.children = [c for c in heading.children if not (c.pseudo and c.is_question)]
            unit.children.append(heading)
            _repath(heading, unit)
            adopted = True
        for question in lifted:
            _repath(question, node)
        units[i:i] = lifted
    if adopted:  # otherwise the children keep their order (run-in units first, then headings)
        node.children = out


def _empty_topics_ask(node: Node) -> None:
    """A heading with nothing under it ("## Densenet" between answered sections) is a topic the notes pose and have
    not answered yet: it is asked, like a question heading with no answer, not lost."""
    for child in node.children:
        _empty_topics_ask(child)
        empty = not child.children and not any(raw.strip() for _, raw in child.body)
        if empty and not child.pseudo and not child.is_question and len(child.title) >= 2:
            child.is_question = not is_reference_heading(child.title)


def outline(text: str) -> tuple[Node, frozenset[int]]:
    """The heading tree of a file with its run-in units split out, and its figure lead-in lines."""
    root, leads = _parse_tree(text)
    _split_pseudo(root)
    _adopt_sub_headings(root)
    _detach_trailing_questions(root)
    _empty_topics_ask(root)
    return root, leads
