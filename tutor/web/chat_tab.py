"""The Chat tab: one `Conversation` per browser session, answers streamed into it, the session's language model.

The `Tutor` (index, embedder) is loaded once and shared read-only; each browser session holds its own
`Conversation` in a `gr.State`, so two sessions never see each other's history. All HTML comes from
`tutor.web.render`, which escapes every piece of note and answer text.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import gradio as gr
from pydantic import SecretStr

from tutor.config import Settings
from tutor.types import Answer, Turn
from tutor.web import render
from tutor.web.assets import static_text
from tutor.web.loader import TutorLoader
from tutor.wire import from_json

if TYPE_CHECKING:  # tutor.answer.chat pulls in the retrieval stack; the loader thread imports it while the page starts
    from tutor.answer.chat import ChatSession, Tutor

log = logging.getLogger(__name__)

MAX_CHIPS = 4  # suggest.MAX_SUGGESTIONS
STORAGE_KEY = "tutor-conversation"
MAX_SAVED_TURNS = 50  # kept in the browser's localStorage for a reload; older turns are dropped
CHAT_INTRO = static_text("chat-intro.html").strip()


class Conversation:
    """One browser session: its `ChatSession`, the messages the chat shows (failed questions too), and
    the slim record kept in the browser so a reload can restore it."""

    def __init__(self) -> None:
        self.messages: list[dict] = []
        self.saved: list[dict] = []
        self.answers: list[Answer] = []
        self.turn = 0
        self.session: ChatSession | None = None
        self.chat_model: object | None = None  # set in the settings panel for this session only

    def chat(self, tutor: Tutor) -> ChatSession:
        from tutor.answer.chat import ChatSession

        if self.session is None:
            self.session = ChatSession(tutor, self.chat_model)
            self.session.turns = [Turn(a.question, a) for a in self.answers]
        self.session.tutor = tutor  # the notes were re-indexed: the history stays, the new index answers
        self.session.chat_model = self.chat_model
        return self.session

    @classmethod
    def restore(cls, saved: object, lines_of: render.LinesOf) -> Conversation:
        conv = cls()
        for entry in saved if isinstance(saved, list) else []:
            try:
                question = str(entry["question"])
                if "answer" in entry:
                    answer = answer_from_dict(entry["answer"])
                    conv.answers.append(answer)
                    shown = render.render_answer(answer, conv.turn + 1, lines_of)
                else:
                    shown = render.render_problem(str(entry["problem"]))
            except (KeyError, TypeError, ValueError):
                continue  # an entry from an older version: leave it out
            conv.turn += 1
            conv.messages += [_msg("user", render.render_question(question)), _msg("assistant", shown)]
            conv.saved.append(entry)
        return conv


def answer_from_dict(d: dict) -> Answer:
    """The inverse of `Answer.to_dict()` for what the chat keeps (hits are not kept)."""
    return from_json(Answer, d)


def _msg(role: str, content: str) -> dict:
    return {"role": role, "content": content}


def _chips(suggestions: tuple[str, ...] | list[str] = ()) -> list:
    shown = list(suggestions)[:MAX_CHIPS]
    return [gr.Button(value=s, visible=True) for s in shown] + [gr.Button(visible=False)] * (MAX_CHIPS - len(shown))


def respond(message: str | None, conv: Conversation | None, loader: TutorLoader, lines_of: render.LinesOf) -> Iterator:
    """Stream one answer into the conversation: (chat messages, textbox, conversation, *suggestion chips)."""
    from tutor.answer.chat import InputError

    conv = conv or Conversation()
    conv.turn += 1
    turn = conv.turn
    conv.messages += [
        _msg("user", render.render_question(message or "")),
        _msg("assistant", render.render_partial("", turn)),
    ]
    yield conv.messages, "", conv, *_chips()
    answer: Answer | None = None
    problem: str | None = None
    if loader.tutor is None:
        problem = (
            loader.error
            or "The index is still being built; ask again when the status line says ready. / 索引还在建立中。"
        )
    else:
        try:
            text = ""
            for piece in conv.chat(loader.tutor).stream(message or ""):
                if isinstance(piece, Answer):
                    answer = piece
                    break
                text += piece
                conv.messages[-1] = _msg("assistant", render.render_partial(text, turn))
                yield conv.messages, "", conv, *_chips()
        except InputError as exc:
            problem = str(exc)
        except Exception as exc:  # the conversation goes on after an internal error
            log.exception("answering %r failed", (message or "")[:200])
            problem = (
                f"Something went wrong answering this ({type(exc).__name__}); your conversation is kept,"
                " try again or rephrase. / 出错了，请重试或换个问法。"
            )
    if answer is not None:
        conv.answers.append(answer)
        conv.messages[-1] = _msg("assistant", render.render_answer(answer, turn, lines_of))
        slim = {k: v for k, v in answer.to_dict().items() if k != "hits"}
        conv.saved.append({"question": answer.question, "answer": slim})
    else:
        problem = problem or "No answer came back. / 没有得到回答。"
        conv.messages[-1] = _msg("assistant", render.render_problem(problem))
        conv.saved.append({"question": (message or "")[: render.MAX_SHOWN_QUESTION], "problem": problem})
    yield conv.messages, "", conv, *_chips(answer.suggestions if answer else ())


def chat_tab(loader: TutorLoader, lines_of: render.LinesOf, conv: gr.State, saved: gr.BrowserState) -> dict:
    bot = gr.Chatbot(
        elem_id="chat",
        height="62vh",
        render_markdown=False,  # messages are HTML from tutor.web.render, escaped there and sanitized here
        sanitize_html=True,
        latex_delimiters=[],
        buttons=[],  # each answer has its own copy button that copies the text, not the HTML
        feedback_options=None,
        layout="panel",
        placeholder=CHAT_INTRO,
        show_label=False,
    )
    with gr.Row(elem_id="suggestions"):
        chips = [gr.Button(visible=False, size="sm", elem_classes=["chip"]) for _ in range(MAX_CHIPS)]
    with gr.Row(elem_id="ask-row"):
        ready = loader.tutor is not None
        box = gr.Textbox(
            placeholder=hint(ready), interactive=ready, show_label=False, scale=8, max_lines=6, elem_id="question"
        )
        ask = gr.Button("Ask · 提问", variant="primary", interactive=ready, scale=0, min_width=150, elem_id="ask")
        new = gr.Button("New conversation · 新对话", size="sm", scale=0, min_width=170, elem_id="new-conversation")
    outputs = [bot, box, conv, *chips]
    _model_settings(loader, conv)

    def ask_fn(message, state):
        yield from respond(message, state, loader, lines_of)

    events = [box.submit(ask_fn, [box, conv], outputs, api_name="ask", **ASK_EVENT)]
    events.append(ask.click(ask_fn, [box, conv], outputs, api_visibility="private", **ASK_EVENT))
    events += [chip.click(ask_fn, [chip, conv], outputs, api_visibility="private", **ASK_EVENT) for chip in chips]
    for event in events:
        event.then(saved_turns, [conv], [saved], show_progress="hidden", api_visibility="private")

    def new_conversation():
        return [], "", Conversation(), [], *_chips()

    for trigger in (new.click, bot.clear):  # the chat's own trash button starts over too
        trigger(
            new_conversation, None, [bot, box, conv, saved, *chips], api_visibility="private", show_progress="hidden"
        )
    return {"bot": bot, "box": box, "ask": ask, "chips": chips, "outputs": outputs, "fn": ask_fn}


def _model_settings(loader: TutorLoader, conv: gr.State) -> None:
    """A language model for this browser session only; the key stays in the session and is never shown."""
    with gr.Accordion("Language model (optional) · 语言模型", open=False, elem_id="llm-settings"):
        with gr.Row():
            spec = gr.Textbox(label="model", placeholder="none · openai:<model> · ollama:<model>", scale=3)
            base_url = gr.Textbox(
                label="base URL (OpenAI-compatible server)", placeholder="http://127.0.0.1:8080/v1", scale=3
            )
            key = gr.Textbox(label="API key", type="password", scale=2)
            apply = gr.Button("Use for this session · 应用", scale=1)
        shown = gr.Markdown("Answers come from your notes (offline). · 当前：离线回答")

    def use(spec_text, url, key_text, state):
        return use_model(loader.settings, spec_text, url, key_text, state)

    apply.click(use, [spec, base_url, key, conv], [conv, shown], api_visibility="private", show_progress="hidden")


def use_model(settings: Settings, spec: str | None, url: str | None, key: str | None, state):
    """(conversation, message): the session's model from the settings panel; errors never repeat the key."""
    from tutor.answer.llm import LLMConfigError, get_chat_model

    state = state or Conversation()
    spec = (spec or "none").strip()
    update: dict[str, object] = {}
    typed_key = SecretStr(key.strip()) if key and key.strip() else None
    if url and url.strip():
        # a server the user names gets the user's key or none: never the operator's configured key
        update |= {"llm_base_url": url.strip(), "llm_api_key": typed_key}
    elif typed_key is not None:
        update["llm_api_key"] = typed_key
    try:
        model = get_chat_model(spec, settings.model_copy(update=update))
    except LLMConfigError as exc:
        return state, f"⚠ {exc}"
    state.chat_model = model if model is not None else "none"
    if model is None:
        return state, "Answers come from your notes (offline). · 当前：离线回答"
    return state, f"Answers are written by `{spec}` from your notes, every citation checked. · 当前：{spec}"


def hint(ready: bool) -> str:
    return "Ask about your notes… · 问一个关于笔记的问题" if ready else "the index is loading… · 正在加载索引…"


ASK_EVENT: dict[str, Any] = {"show_progress": "hidden", "concurrency_id": "ask", "concurrency_limit": 4}


def saved_turns(conv: Conversation | None) -> list[dict]:
    return conv.saved[-MAX_SAVED_TURNS:] if conv is not None else []
