"""`tinygrad-tf graph --preset gpt2`: GPT-2 small's forward+backward graph, collapsed to a legible drawing."""

from tinygrad_tf.commands import main


def test_gpt2_small_graph_is_collapsed_to_a_readable_dot(tmp_path, capsys):
    out = tmp_path / "gpt2.dot"
    assert main(["graph", "--preset", "gpt2", "--out", str(out)]) == 0
    dot = out.read_text()
    assert "Block x 12" in dot and "blocks.0-11" in dot                  # the 12 blocks drawn once
    assert "wte.weight (tied: lm_head.weight)" in dot                      # tied weights drawn once
    assert "(50257, 768)" in dot and "CrossEntropy" in dot
    assert dot.count("->") < 60                                            # a slide, not 5,000 edges


def test_unknown_graph_preset_lists_the_model_presets(capsys):
    assert main(["graph", "--preset", "nope", "--out", "x.svg"]) == 2
    err = capsys.readouterr().err
    assert "unknown graph preset 'nope'" in err and "gpt2" in err
