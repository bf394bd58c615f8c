/* Every optimizer and option the fusion tests fit (test_tile19, test_fuse20),
 * and whether its update joins the weight gradient's group, where it can run
 * on the GEMM's tile: not where scalars computed from the step count (bias
 * corrections, accumulation's test) or a reduction (Adafactor's factored
 * moment) sit between product and update. */
#ifndef NNC_TEST_OPTIMIZER_CASES_H
#define NNC_TEST_OPTIMIZER_CASES_H

typedef struct opt_case {
  const char *optimizer; /* the compile_config's optimizer */
  int fused;             /* the update joins the weight gradient's group */
} opt_case;

#define OPT_LR "'learning_rate': 0.05"
static const opt_case optimizer_cases[] = {
    {"{'class_name': 'SGD', 'config': {" OPT_LR "}}", 1},
    {"{'class_name': 'SGD', 'config': {" OPT_LR ", 'momentum': 0.9}}", 1},
    {"{'class_name': 'SGD', 'config': {" OPT_LR ", 'momentum': 0.9, 'nesterov': true}}", 1},
    {"{'class_name': 'SGD', 'config': {" OPT_LR ", 'momentum': 0.5, 'weight_decay': 0.01}}", 1},
    {"{'class_name': 'RMSprop', 'config': {" OPT_LR "}}", 1},
    {"{'class_name': 'RMSprop', 'config': {" OPT_LR ", 'momentum': 0.5, 'centered': true}}", 1},
    {"{'class_name': 'Adam', 'config': {" OPT_LR "}}", 0},
    {"{'class_name': 'Adam', 'config': {" OPT_LR ", 'amsgrad': true}}", 0},
    {"{'class_name': 'AdamW', 'config': {" OPT_LR ", 'weight_decay': 0.1}}", 1},
    {"{'class_name': 'Adagrad', 'config': {" OPT_LR "}}", 1},
    {"{'class_name': 'Adadelta', 'config': {'learning_rate': 1.0}}", 1},
    {"{'class_name': 'Adamax', 'config': {" OPT_LR "}}", 0},
    {"{'class_name': 'Nadam', 'config': {" OPT_LR "}}", 0},
    {"{'class_name': 'Ftrl', 'config': {" OPT_LR ", 'l1_regularization_strength': 0.01, "
     "'l2_regularization_strength': 0.01, 'l2_shrinkage_regularization_strength': 0.01}}",
     0},
    {"{'class_name': 'Lion', 'config': {'learning_rate': 0.01}}", 1},
    {"{'class_name': 'Adafactor', 'config': {" OPT_LR "}}", 0},
    {"{'class_name': 'Adam', 'config': {" OPT_LR ", 'clipvalue': 0.1}}", 1},
    {"{'class_name': 'Adam', 'config': {" OPT_LR ", 'global_clipnorm': 0.5}}", 1},
    {"{'class_name': 'SGD', 'config': {" OPT_LR ", 'momentum': 0.9, 'use_ema': true, "
     "'ema_momentum': 0.9, 'ema_overwrite_frequency': 3}}",
     1},
    {"{'class_name': 'Adam', 'config': {" OPT_LR ", 'gradient_accumulation_steps': 2}}", 0},
};
enum { OPTIMIZER_CASES = sizeof optimizer_cases / sizeof optimizer_cases[0] };

#endif
