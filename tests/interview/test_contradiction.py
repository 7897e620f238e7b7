"""Reading what an answer's clause denies, and whether it contradicts a key point (tutor/interview/contradiction.py)."""

from __future__ import annotations

import pytest

from tutor.interview.contradiction import (
    Rubric,
    clauses,
    compared,
    contradicts,
    denied_by,
    numbers,
    opposite,
    point_clauses,
    read_clause,
    sentence_contradicts,
    sentence_opposes,
    sentence_swaps,
)
from tutor.terms import tokenize

CHECK_LABELS = point_clauses("手动检查一些输入样本并查看标签是否大致正确。")
LOSS = point_clauses(
    "有时损失并不是衡量你的网络是否被正确训练的最佳预测器。如果可以的话，使用其它指标来帮助你，比如精度。"
)
DROPOUT = point_clauses("dropout是按设定的比例随机丢掉一些神经元，不参与训练(前向传播和反向传播)。")


def test_a_negation_denies_the_first_content_word_after_modal_words() -> None:
    assert read_clause("一般不需要手动检查样本标签").denies == {"手动"}
    assert read_clause("也没必要去尝试多种初始化").denies == {"尝试"}
    assert read_clause("输入数据一般不用检查").denies == {"检查"}
    assert "监控" in read_clause("没必要再监控精度").denies


@pytest.mark.parametrize("clause", ["有没有搞反", "标签是否大致正确", "两者是不是一样", "不同的初始化", "非常重要"])
def test_words_that_only_look_like_a_negation_deny_nothing(clause: str) -> None:
    assert not read_clause(clause).denies


def test_an_english_negation_and_a_negating_prefix() -> None:
    assert read_clause("you do not need to normalize the inputs").denies
    assert read_clause("the tree is insensitive to scaling").denies == {"敏感"}


def test_a_question_or_check_asserts_nothing() -> None:
    assert read_clause("你的输入已经归一化到零均值和单位方差了吗？").asks
    assert not read_clause("输入已经归一化到零均值和单位方差").asks


def test_denying_what_the_point_asserts_contradicts_it() -> None:
    assert sentence_contradicts("所以一般不需要手动检查样本标签。", CHECK_LABELS)
    assert not sentence_contradicts("所以应该手动抽查一些输入样本，看看标签对不对。", CHECK_LABELS)


def test_asserting_what_the_point_denies_contradicts_it() -> None:
    assert sentence_contradicts("损失是衡量网络训练好坏唯一可靠的指标。", LOSS)
    assert not sentence_contradicts("光看损失并不能衡量网络训练得好不好，还要看精度。", LOSS)


def test_agreeing_on_a_denial_is_no_contradiction() -> None:
    assert not sentence_contradicts("被丢掉的神经元既不参与前向传播，也不参与反向传播。", DROPOUT)


def test_a_denial_needs_the_same_subject_words() -> None:
    # one shared word is not enough to say the answer talks about the point's claim
    assert not sentence_contradicts("不用检查。", CHECK_LABELS)


def test_echoing_the_questions_own_negation_is_no_contradiction() -> None:
    point = point_clauses("树与树之间是串行的：第 m 棵树要用第 m-1 轮的预测结果算梯度，所以不能并行。")
    asked = denied_by("GBDT 为什么不能像 RF 一样并行？")
    answer = read_clause("GBDT不能并行是因为树与树之间是串行的")
    assert "并行" in asked
    assert not contradicts(answer, point, asked)


def test_a_negation_before_the_subject_denies_the_whole_clause_not_the_subject() -> None:
    point = point_clauses("不可能Loss一直降到一个收敛的状态。")
    assert not sentence_contradicts("WGAN后来提出的Loss让收敛更容易判断。", point)


def test_clauses_split_at_punctuation_and_contrast() -> None:
    assert clauses("A很大，但是B很小；C。") == ["A很大", "B很小", "C"]
    assert clauses("Dropout is cheap. It works but costs time") == ["Dropout is cheap", "It works", "costs time"]


GRU_POINT = "GRU只有两个门（update和reset），LSTM有三个门，GRU直接将hidden state 传给下一个单元，而LSTM用memory cell 把hidden state包装起来。"


def test_the_names_a_question_compares() -> None:
    assert compared("GRU是什么？它对LSTM做了哪些改动？") == {*tokenize("GRU"), *tokenize("LSTM")}
    assert len(compared("LSTM里为什么既用sigmoid又用tanh？")) == 3
    # English words are names when written as names: "overfitting" is a word, "ReLU" and "L1" are names
    assert compared("What are overfitting and underfitting?") == frozenset()
    assert len(compared("Why is ReLU better than L1?")) == 2
    assert compared("什么是dropout？") == frozenset()  # one name compares nothing
    # in a Chinese question two Latin words may be one name, and an English clause names nothing
    assert compared("什么是Batch Norm？Why it works? BN的流程是什么？") == frozenset()


def test_saying_of_one_compared_name_what_the_notes_say_of_the_other_contradicts() -> None:
    names, point = compared("GRU对LSTM做了哪些改动？"), point_clauses(GRU_POINT)
    assert sentence_swaps(
        "它也额外加了一个记忆单元来包裹隐藏状态，而LSTM是直接把隐藏状态传给下一个单元的。", point, names
    )
    # the same facts, each of its own name, in other words and another order
    assert not sentence_swaps("另外GRU直接把隐藏状态传给下一个单元，LSTM则用记忆单元把隐藏状态包起来。", point, names)
    assert not sentence_swaps("它只有两个门，更新门和重置门，而LSTM有遗忘门、输入门、输出门三个门。", point, names)
    # one shared word is no claim about the same thing
    assert not sentence_swaps("LSTM的隐藏状态很重要。", point, names)


def test_a_swap_needs_words_the_notes_do_not_say_of_the_answers_own_name() -> None:
    names = compared("bias和variance分别指的是什么？")
    bias, variance = (point_clauses(p) for p in ("bias指的是模型的预测结果与真实值之差的期望。",
                                                 "variance指的是同一个模型在不同训练数据下，对同一个样本的预测结果的方差。"))  # fmt: skip
    answer = "bias是模型预测结果的期望和真实值之间的差距。"
    assert sentence_swaps(answer, variance, names)  # 预测, 结果: read alone, a swap
    assert not sentence_swaps(answer, variance, names, (bias, variance))  # the notes say it of bias
    # words most of the question's points use say nothing of one name
    optimizers = [point_clauses(p) for p in ("SGD用当前梯度乘以学习率来更新参数。", "RMSProp用梯度平方的移动平均来更新参数。",
                                             "Adam同时用梯度的一阶矩和二阶矩来更新参数。")]  # fmt: skip
    names = compared("SGD、RMSProp和Adam有什么区别？")
    said = "SGD每次直接用梯度来更新参数，学习率是固定的。"
    assert sentence_swaps(said, optimizers[1], names)
    assert not sentence_swaps(said, optimizers[1], names, tuple(optimizers))


EXPLODING = point_clauses("网络层之间的梯度（值大于 1.0）重复相乘导致的指数级增长会产生梯度爆炸。")
GPT3 = point_clauses("GPT-3 has significantly more parameters: 175 billion parameters, released in 2020.")


def rubric_of(question: str, *points: list) -> Rubric:
    return Rubric.of(question, list(points))


def test_opposite_words_are_listed_pairs_or_words_alike_but_for_opposite_characters() -> None:
    assert opposite("大于", "小于") and opposite("前", "后") and opposite("过拟合", "欠拟合")
    assert opposite(tokenize("increase")[0], tokenize("decrease")[0])
    assert not opposite("大于", "大于") and not opposite("大于", "等于") and not opposite("梯度", "小于")


def test_saying_the_opposite_word_of_the_same_terms_contradicts_a_point() -> None:
    rubric = rubric_of("什么是梯度爆炸？", EXPLODING)
    assert sentence_opposes("梯度爆炸是层与层之间小于1的梯度反复相乘造成的。", EXPLODING, rubric)
    assert not sentence_opposes("层与层之间大于1的梯度反复相乘，梯度指数级增长。", EXPLODING, rubric)


def test_an_opposite_word_the_notes_use_elsewhere_or_a_second_flip_is_no_contradiction() -> None:
    c_point = point_clauses("sklearn 里参数是 C，C 越小正则越强。")
    rubric = rubric_of("参数C和正则化强度是什么关系？", c_point)
    assert not sentence_opposes("C越大正则越弱。", c_point, rubric)  # both flipped: the same claim
    assert sentence_opposes("C越大正则越强。", c_point, rubric)
    gan = point_clauses("判别器的目标是最小化交叉熵损失，生成器的目标是最小化生成数据分布和真实数据分布的JS散度。")
    said_both = "生成器最小化判别器目标函数的最大值，这个最大值对应的是真实数据分布和生成数据分布之间的JS散度。"
    assert not sentence_opposes(said_both, gan, rubric_of("GAN的目标函数和交叉熵有什么区别？", gan))
    both = rubric_of("什么是梯度爆炸？", EXPLODING, point_clauses("值小于 1 时梯度消失。"))
    assert not sentence_opposes("层与层之间小于1的梯度反复相乘。", EXPLODING, both)


def test_a_quantity_the_notes_never_state_for_the_question_contradicts_a_point_that_states_one() -> None:
    rubric = rubric_of("How many parameters did GPT-3 have?", GPT3)
    assert sentence_opposes("GPT-3 had 1.75 trillion parameters.", GPT3, rubric)
    assert not sentence_opposes("GPT-3 had 175B parameters and came out in 2020.", GPT3, rubric)
    assert not sentence_opposes("It has 96 layers.", GPT3, rubric)  # not about what the point says
    tanh = point_clauses("tanh 比 sigmoid 好一些，但是它的导数仍然小于1。")
    # within a bound the notes state, a quantity agrees with them; code ("tf.add(8,9)") states none
    assert not sentence_opposes(
        "sigmoid 的导数最大只有 0.25，tanh 的导数也很小。", tanh, rubric_of("为什么会梯度消失？", tanh)
    )
    assert sentence_opposes(
        "tanh 的导数最大能到 4，所以 tanh 比 sigmoid 好。", tanh, rubric_of("为什么会梯度消失？", tanh)
    )
    assert not numbers("比如 tf.add(8,9) 打印出来只是一个张量")
    svc = point_clauses("SVC 的训练时间随样本数平方级增长，不适合训练超过10000的样本。")
    svc_rubric = rubric_of("SVC 样本超过多少就不适合？", svc)
    assert not sentence_opposes("SVC 训练时间平方级增长，不适合超过一万（10,000）个样本。", svc, svc_rubric)
    assert sentence_opposes("SVC 训练时间平方级增长，不适合超过 500 个样本。", svc, svc_rubric)
    # 0 and 1 are formula constants, never a quantity of their own ("the factor goes towards 0")
    assert not sentence_opposes("For easy GPT-3 parameters the factor goes towards 0.", GPT3, rubric)
    # an added quantity beside the point's own adds to it
    assert not sentence_opposes("GPT-3 had 175 billion parameters, over 100 times GPT-2's.", GPT3, rubric)


def test_numbers_are_read_as_values_with_their_scale_and_list_marks_are_no_numbers() -> None:
    assert {2.5e9} <= set().union(*numbers("2,500M words")) and {2.5e9} <= set().union(*numbers("25亿"))
    assert numbers("80%") == {frozenset({80.0, 0.8})}
    assert numbers("初始化为0或者一个负数，比如-1") == {frozenset({0.0}), frozenset({-1.0})} and not numbers(
        "k-1, GPT-3"
    )
    assert numbers("1）学习率取 0.01") == {frozenset({0.01})}
    assert numbers("GRU 有两层") == {frozenset({2.0})} and not numbers("这两个问题：一个 L1 正则, ResNet50, GPT-3")


def test_a_clause_that_gives_the_points_subject_another_quantity_contradicts_it_even_one_the_notes_use() -> None:
    """graded-10: "窗口设为9，左右各9个，一共19个位置" against "窗口设为4，代表的当前位置左边4个，右边也有4个，再加上
    自己，就是一共9个位置": 9 is a number the notes give, but not for what the clause says it of."""
    window = point_clauses("需要注意的是，窗口设为4，代表的当前位置左边4个，右边也有4个，再加上自己，就是一共9个位置。")
    rubric = rubric_of("RPR里相对位置的窗口设成多少？一共覆盖几个位置？", window)
    assert sentence_opposes("窗口设为9，左右各9个，一共19个位置。", window, rubric)
    assert not sentence_opposes("窗口设为4，左右各4个再加上自己，一共9个位置。", window, rubric)
    assert not sentence_opposes("位置编码一共有两种做法。", window, rubric)  # shares one term: about something else


GAN_OBJECTIVE = point_clauses(
    "这个目标函数和交叉熵是一致的，即判别器的目标是最小化交叉熵损失，生成器的目标是最小化生成数据分布和真实数据分布的JS散度。"
)


def test_denying_a_relation_denies_what_it_is_with() -> None:
    assert "交叉熵" in read_clause("跟交叉熵没有关系").denies
    assert set(tokenize("深度")) <= read_clause("和深度关系不大").denies
    assert "上下文" in read_clause("词向量与上下文无关").denies
    assert read_clause("it has nothing to do with the depth").denies == set(tokenize("depth"))
    assert sentence_contradicts("判别器的目标是最小化均方误差，跟交叉熵没有关系。", GAN_OBJECTIVE)
    # the point says the same: no contradiction
    static = point_clauses("word2vec 的词向量是静态的，与上下文无关。")
    assert not sentence_contradicts("word2vec 的词向量和上下文无关，每个词只有一个向量。", static)


def test_a_short_clause_is_read_with_what_the_words_before_it_are_about() -> None:
    assert sentence_contradicts("生成器最小化的是两个分布之间的KL散度，而不是JS散度。", GAN_OBJECTIVE)
    assert not sentence_contradicts("而不是JS散度。", GAN_OBJECTIVE)  # about nothing the point names
    bn = point_clauses("测试时不再计算batch的均值和方差，而是使用训练时保存的滑动平均值。")
    asked = frozenset(tokenize("BN在测试时还要计算batch的均值吗？"))
    assert sentence_contradicts("要计算。", bn, question=asked)  # the answer to a yes/no question
    assert not sentence_contradicts("不用计算。", bn, question=asked)
    assert not sentence_contradicts("要计算。", bn)


def test_the_second_character_of_a_negation_may_begin_the_word_it_denies() -> None:
    assert read_clause("这会导致生成器Loss不可导").denies == {"可导"}
    assert read_clause("无法收敛").denies == {"收敛"}
    point = point_clauses("RNN输出的是一个概率序列，然后取argmax。这会导致生成器Loss不可导。")
    assert not sentence_contradicts(
        "the RNN takes an argmax over its outputs, and the loss is not differentiable", point
    )


def test_a_word_the_point_denies_in_another_form_is_no_contradiction() -> None:
    point = point_clauses(
        "If there is a new item that has not been rated yet, we cannot give any recommendation. "
        "Say we want to recommend how much a user will like an item."
    )
    assert not sentence_contradicts("A new item that nobody has rated yet, so you can't recommend it at all.", point)
