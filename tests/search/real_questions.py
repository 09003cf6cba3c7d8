"""Real questions, judged against the shipped articles: issue 19's relevance suite.

Where they come from: every question was copied verbatim, typos, capitals and
abbreviations included, from a public page read on 2026-12-07 through the stored page
search: patient forums and blogs (Reddit r/MultipleSclerosis, Crohn's Forum, Sclero
Forums, We Have Lupus, Inspire, TuDiabetes, the American Cancer Society's survivor
network), "questions to ask" lists and organisation FAQs (MS Society UK, National MS
Society, ISSCR's A Closer Look at Stem Cells, Anthony Nolan, Fred Hutch, CancerCare,
Be The Match partners, GBS and lupus information sites) and a few clinic and health
sites whose FAQ headings are the questions readers search for. A long post is cut to
the sentences that ask, each cut marked "…"; nothing else was changed. Each question
records the address it was read at (some pages only at an http:// address) and the
site's name. Questions already in test_relevance.py are not repeated here.

How they were judged: against the 26 shipped articles (fixtures/articles.json: title,
summary, key points and body read in full), before anything was measured or tuned.
Grade 2: the article answers what was asked, as asked (not merely its topic). Grade 1:
related, a reader would find it useful but it does not answer. A question with no grade-2
article is unanswerable by the library: a disease or treatment it does not cover (knee
osteoarthritis, Parkinson's, autism, donating marrow), a question only a person or a
clinic can answer, or a fact the articles do not give (success figures, where centres are).

These questions and grades must not be edited to flatter the search. Change a grade only
to correct a judging mistake, and say which and why in the commit message.
"""

from __future__ import annotations

from dataclasses import dataclass, field

OVERVIEW = "stem-cell-therapy-for-autoimmune-diseases"
MS = "stem-cell-research-in-multiple-sclerosis"
RA = "stem-cell-approaches-in-rheumatoid-arthritis"
LUPUS = "stem-cell-therapy-research-in-lupus"
PSORIASIS = "psoriasis-and-stem-cell-research"
DIABETES = "type-1-diabetes-and-stem-cell-research"
CROHNS = "crohns-disease-and-stem-cell-therapy"
GBS = "guillain-barre-syndrome-standard-care-and-stem-cell-research"
SCLERODERMA = "systemic-sclerosis-scleroderma-and-stem-cell-transplantation"
HSCT = "hematopoietic-stem-cell-transplantation-what-it-involves"
MSC = "mesenchymal-stem-cell-therapy-explained"
CORD_BLOOD = "umbilical-cord-blood-therapy-uses-research-and-limits"
IMMUNOSUPPRESSANTS = "immunosuppressants-in-autoimmune-disease"
ANTI_INFLAMMATORY = "anti-inflammatory-drugs-nsaids-and-corticosteroids"
CLINICS = "unproven-stem-cell-clinics-how-to-protect-yourself"
TRIALS = "how-to-find-and-judge-a-clinical-trial"
ASK = "questions-to-ask-a-specialist-about-stem-cell-treatment"
RECOVERY = "recovering-from-autologous-hsct-what-to-expect"
CAR_T = "car-t-cell-therapy-in-autoimmune-disease-early-research"
COSTS = "costs-insurance-and-travelling-abroad-for-treatment"
REGULATION = "how-stem-cell-treatments-are-regulated-what-approved-means"
REMISSION = "what-remission-and-success-rates-mean"
CHILDREN = "children-and-teenagers-stem-cell-treatments"
FERTILITY = "fertility-and-pregnancy-around-stem-cell-treatment"
LIFE_AFTER = "life-after-hsct-relapse-medicines-vaccines-and-work"
NOT_LISTED = "my-disease-is-not-listed-finding-research"

ANSWERS = 2
RELATED = 1


@dataclass(frozen=True)
class RealQuestion:
    """One reader's question, where it was read, and the articles judged for it."""

    text: str
    source_url: str
    site: str
    grades: dict[str, int] = field(default_factory=dict)  # slug -> 2 answers, 1 related

    @property
    def answers(self) -> frozenset[str]:
        """The articles that answer it (grade 2); empty for an unanswerable question."""
        return frozenset(slug for slug, grade in self.grades.items() if grade == ANSWERS)

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


MS_SOCIETY_HSCT = (
    "https://www.mssociety.org.uk/about-ms/treatments-and-therapies/"
    "disease-modifying-therapies/hsct/hsct--what-to-expect"
)
HSCT_WARRIORS_FAQ = "https://www.hsctwarriors.org/faq"
NMSS_FAQ = "https://docslib.org/doc/43529/hematopoietic-stem-cell-therapy-in-ms"
ISSCR_WHAT_TO_ASK = (
    "https://www.closerlookatstemcells.org/stem-cells-medicine/stem-cell-treatments-what-to-ask/"
)
ISSCR_FAQ = "http://www.closerlookatstemcells.org/Frequent_Questions.html"
ANTHONY_NOLAN_FERTILITY = (
    "https://anthonynolan.org/patients-and-families/preparing-a-stem-cell-transplant/"
    "fertility-after-a-stem-cell-transplant"
)
FRED_HUTCH_VACCINES = (
    "http://www.fredhutch.org/en/treatment/long-term-follow-up/FAQs/vaccination.html"
)
NHT_DELHI = "https://nhtdelhi.com/alopecia/best-answer-do-you-lose-your-hair-after-stem-cell-transplant.html"
PROJECT_MARROW = "https://www.projectmarrow.org/faq.htm"
CABO = "https://www.cabostemcellcenter.com.mx/sickness-9"
PINK_RIBBON = "http://pinkribbon.org/2020/06/05/"

QUESTIONS: tuple[RealQuestion, ...] = (
    # --- Multiple sclerosis and HSCT: eligibility, risks, benefits, what it is ---
    RealQuestion(
        "Am I eligible for HSCT?",
        MS_SOCIETY_HSCT,
        "MS Society (UK)",
        {HSCT: 2, MS: 1, SCLERODERMA: 1, ASK: 1},
    ),
    RealQuestion(
        "What are the risks of HSCT?",
        MS_SOCIETY_HSCT,
        "MS Society (UK)",
        {HSCT: 2, MS: 1, SCLERODERMA: 1, RECOVERY: 1, LIFE_AFTER: 1, FERTILITY: 1},
    ),
    RealQuestion(
        "What are the benefits of HSCT?",
        MS_SOCIETY_HSCT,
        "MS Society (UK)",
        {MS: 2, HSCT: 1, REMISSION: 1},
    ),
    RealQuestion(
        "I have progressive MS, is HSCT an option for me?",
        "https://www.mssociety.org.uk/what-we-do/news/new-guidelines-for-hsct-in-uk-published",
        "MS Society (UK)",
        {MS: 2, HSCT: 1},
    ),
    RealQuestion(
        "Is HSCT for everyone, or not?",
        "https://ms-selfie.blog/2018/01/17/is-hsct-for-everyone-or-not/?replytocom=24833",
        "MS-Selfie (Barts MS blog)",
        {HSCT: 2, MS: 2, ASK: 1},
    ),
    RealQuestion(
        "Why don’t you support private prescribing and HSCT abroad?",
        "https://ms-selfie.blog/2019/01/24/supporting-the-nhs-social-medicine/",
        "MS-Selfie (Barts MS blog)",
        {COSTS: 2, CLINICS: 1, MS: 1},
    ),
    RealQuestion(
        "Hi, what DMTs were you on and for how long before deciding to have an HSCT? Some of "
        "the preliminary research I have done seems to suggest, earlier in the diagnosis with "
        "an EDSS on the lower end might be the optimal time.",
        "https://reddit.manchu.de/r/MultipleSclerosis/comments/iaul41/in_the_middle_of_hsct_right_now_ama",
        "Reddit r/MultipleSclerosis (mirror)",
        {MS: 1, HSCT: 1},
    ),
    RealQuestion(
        "How much does it cost?", HSCT_WARRIORS_FAQ, "HSCT Warriors FAQ", {COSTS: 2, ASK: 1}
    ),
    RealQuestion(
        "Will my doctor support me?", HSCT_WARRIORS_FAQ, "HSCT Warriors FAQ", {ASK: 1, MS: 1}
    ),
    RealQuestion(
        "What does HSCT treat?",
        HSCT_WARRIORS_FAQ,
        "HSCT Warriors FAQ",
        {HSCT: 2, OVERVIEW: 2, REGULATION: 1},
    ),
    RealQuestion(
        "Where is HSCT performed?", HSCT_WARRIORS_FAQ, "HSCT Warriors FAQ", {HSCT: 1, MS: 1}
    ),
    RealQuestion(
        "What are the results?",
        HSCT_WARRIORS_FAQ,
        "HSCT Warriors FAQ",
        {REMISSION: 1, MS: 1, TRIALS: 1},
    ),
    RealQuestion(
        "What is HSCT for multiple sclerosis?",
        NMSS_FAQ,
        "National MS Society FAQ (copy on Docslib)",
        {MS: 2, HSCT: 2},
    ),
    RealQuestion(
        "Is aHSCT an FDA-approved therapy option for people with MS?",
        NMSS_FAQ,
        "National MS Society FAQ (copy on Docslib)",
        {REGULATION: 2, MS: 1, HSCT: 1},
    ),
    RealQuestion(
        "What is the idea behind autologous HSCT (aHSCT) for MS?",
        NMSS_FAQ,
        "National MS Society FAQ (copy on Docslib)",
        {MS: 2, HSCT: 2},
    ),
    RealQuestion(
        "Who is an ideal HSCT candidate?",
        "http://msfocus.org/MultipleSclerosisFoundation/media/Flipbook/MSfocus/spring2019/inc/html/19.html",
        "MSFocus magazine (Multiple Sclerosis Foundation)",
        {MS: 2, HSCT: 1, SCLERODERMA: 1},
    ),
    RealQuestion(
        "How does aHSCT work?",
        "https://momentummagazineonline.com/ahsct/",
        "Momentum magazine (National MS Society)",
        {HSCT: 2, MS: 2, RECOVERY: 1},
    ),
    # --- Two names for one thing; what a treatment is ---
    RealQuestion(
        "What is the difference between a bone marrow transplant and a stem cell transplant?",
        "https://www.healthtap.com/questions/13364-what-is-the-difference-between-a-bone-marrow-"
        "transplant-and-a-stem-cell-transplant/",
        "HealthTap",
        {HSCT: 2, OVERVIEW: 1},
    ),
    RealQuestion(
        "What is the difference between hematopoietic stem cells and mesenchymal stem cells?",
        "https://americordblood.com/articles/hscs-and-mscs-what-is-the-difference",
        "Americord",
        {MSC: 2, OVERVIEW: 1, HSCT: 1},
    ),
    RealQuestion(
        "How Is Autologous HSCT Different From Other Types of HSCT?",
        "https://verywellhealth.pages.dev/posts/the-pros-and-cons-of-hsct-for-ms",
        "Verywell Health (mirror)",
        {HSCT: 2},
    ),
    RealQuestion(
        "What is a stem cell transplant?", PINK_RIBBON, "Pink Ribbon", {HSCT: 2, OVERVIEW: 1}
    ),
    # --- Recovery and life afterwards ---
    RealQuestion(
        "I am approaching my 100 days of isolation post stem cell transplant. … My primary "
        "transplant oncologist has refused to sign return to work paperwork until 6 months post "
        "transplant. I feel very well and plan to return to work in August part time (20 hours "
        "per week) 100% remote. … What can I do? Can my local oncologist sign my return to work "
        "papers?",
        "https://csn.cancer.org/discussion/comment/1698344",
        "American Cancer Society Cancer Survivors Network",
        {LIFE_AFTER: 1, RECOVERY: 1},
    ),
    RealQuestion(
        "When is the right time to return to work after a stem cell transplant?",
        "https://bloodwise.org.uk/blog/return-work",
        "Bloodwise (blood cancer charity) blog",
        {LIFE_AFTER: 2, RECOVERY: 2, ASK: 1},
    ),
    RealQuestion(
        "Why do I need to get vaccinated after a stem-cell transplant?",
        FRED_HUTCH_VACCINES,
        "Fred Hutchinson Cancer Center FAQ",
        {LIFE_AFTER: 2, RECOVERY: 2, HSCT: 1},
    ),
    RealQuestion(
        "Are there vaccinations I should not receive after a transplant?",
        FRED_HUTCH_VACCINES,
        "Fred Hutchinson Cancer Center FAQ",
        {LIFE_AFTER: 2, RECOVERY: 2, IMMUNOSUPPRESSANTS: 1},
    ),
    RealQuestion(
        "When can I safely start vaccines again?",
        "https://www.engraftlearningnetwork.org/journeymap-step22",
        "Engraft Learning Network",
        {LIFE_AFTER: 2, RECOVERY: 1},
    ),
    RealQuestion(
        "Do you lose your hair after stem cell transplant?",
        NHT_DELHI,
        "NHT Delhi",
        {HSCT: 2, RECOVERY: 2},
    ),
    RealQuestion(
        "Can you live a normal life after stem cell transplant?",
        NHT_DELHI,
        "NHT Delhi",
        {LIFE_AFTER: 2, RECOVERY: 1},
    ),
    RealQuestion(
        "What are the chances of dying from a stem cell transplant?",
        NHT_DELHI,
        "NHT Delhi",
        {HSCT: 2, MS: 1, SCLERODERMA: 1, CROHNS: 1},
    ),
    # --- Fertility and children ---
    RealQuestion(
        "My child is having a transplant. Do I need to think about their fertility?",
        ANTHONY_NOLAN_FERTILITY,
        "Anthony Nolan",
        {CHILDREN: 2, FERTILITY: 2},
    ),
    RealQuestion(
        "Can stem cells help with fertility?",
        ANTHONY_NOLAN_FERTILITY,
        "Anthony Nolan",
        {FERTILITY: 1},
    ),
    RealQuestion(
        "Who do I need to talk to about my fertility options?",
        ANTHONY_NOLAN_FERTILITY,
        "Anthony Nolan",
        {FERTILITY: 2},
    ),
    RealQuestion(
        "Are stem cells transplants safe for kids?",
        PINK_RIBBON,
        "Pink Ribbon",
        {CHILDREN: 2, HSCT: 1},
    ),
    # --- Cord blood, and donating (the library has no article on donating) ---
    RealQuestion(
        "Why is Umbilical cord blood banking necessary? Is Umbilical cord blood banking worth "
        "for most people?",
        "https://question.com/why-is-umbilical-cord-blood-banking-necessary-633010.html",
        "Question.com",
        {CORD_BLOOD: 2},
    ),
    RealQuestion(
        "How is cord blood collected?",
        "https://www.mother.ly/child/5-things-to-know-before-banking-your-newborns-cord-blood",
        "Motherly",
        {CORD_BLOOD: 2},
    ),
    RealQuestion(
        "What questions should parents ask a Family Bank about collecting cord blood?",
        "http://parentsguidecordblood.org/faqs/what-questions-should-parents-ask-a-family-bank-"
        "about-collecting-cord-blood",
        "Parent's Guide to Cord Blood Foundation",
        {CORD_BLOOD: 1, ASK: 1},
    ),
    RealQuestion(
        "Is stem cell or bone marrow donation painful? Are there any side effects?",
        PROJECT_MARROW,
        "Project Marrow FAQ",
        {HSCT: 1, CORD_BLOOD: 1},
    ),
    RealQuestion(
        "Does race or ethnicity affect matching?",
        PROJECT_MARROW,
        "Project Marrow FAQ",
        {HSCT: 1, CORD_BLOOD: 1},
    ),
    RealQuestion(
        "Is there a cost associated with becoming a donor? Who pays for the hospital expenses?",
        PROJECT_MARROW,
        "Project Marrow FAQ",
        {COSTS: 1, HSCT: 1},
    ),
    # --- Clinics, travel abroad, regulation ---
    RealQuestion(
        "I am interested in getting stem cell therapy to improve and prevent mental decline. I "
        "also hear it can help reduce joint pain. I see there are many clinics and physicians "
        "offering it in Mexico. What is your opinion about getting stem cell treatment in Mexico?",
        "https://mexiconewsdaily.com/mexicolife/stem-cell-treatment-not-advised-at-present/",
        "Mexico News Daily (health questions column)",
        {CLINICS: 2, COSTS: 2, REGULATION: 1},
    ),
    RealQuestion(
        "Is stem cell therapy for MS in Mexico regulated?",
        "https://www.placidway.com/answer-detail/571081/How-Safe-Is-Stem-Cell-Therapy-In-Mexico-"
        "For-Multiple-Sclerosis-MS",
        "PlacidWay (medical travel answers)",
        {REGULATION: 1, COSTS: 1, CLINICS: 1, MS: 1},
    ),
    RealQuestion(
        "Are Stem Cells FDA Approved?",
        "https://www.bodypro.com/ufaqs/are-stem-cells-fda-approved/",
        "BodyPro FAQ",
        {REGULATION: 2},
    ),
    RealQuestion(
        "Are stem cell treatments dangerous? Can stem cells cause cancer?",
        ISSCR_FAQ,
        "A Closer Look at Stem Cells (ISSCR) FAQ",
        {CLINICS: 2, MSC: 1, OVERVIEW: 1, REGULATION: 1, LIFE_AFTER: 1, CAR_T: 1},
    ),
    RealQuestion(
        "I signed a consent form and had a procedure, but now I am having second thoughts. What "
        "should I do?",
        ISSCR_FAQ,
        "A Closer Look at Stem Cells (ISSCR) FAQ",
        {CLINICS: 1, ASK: 1},
    ),
    RealQuestion(
        "I talked with a clinic that said it would be isolating a type of stem cell called a "
        "mesenchymal stem cell from bone marrow, fat or blood. The doctor says that these cells "
        "will turn into the type of cells that are needed to treat my condition (heart "
        "cells/brain cells/liver cells). Is that correct?",
        ISSCR_FAQ,
        "A Closer Look at Stem Cells (ISSCR) FAQ",
        {MSC: 2, CLINICS: 1},
    ),
    RealQuestion(
        "I saw a clinic website that had a story of someone who got better after a stem cell "
        "treatment. Why aren't patient testimonials scientific evidence?",
        ISSCR_FAQ,
        "A Closer Look at Stem Cells (ISSCR) FAQ",
        {REMISSION: 2, CLINICS: 1, TRIALS: 1},
    ),
    RealQuestion(
        "Can you recommend any clinics or clinical trials that are doing legitimate therapies "
        "for specific conditions?",
        ISSCR_FAQ,
        "A Closer Look at Stem Cells (ISSCR) FAQ",
        {TRIALS: 1, NOT_LISTED: 1, CLINICS: 1},
    ),
    RealQuestion(
        "If providing unproven stem cell treatments is so dangerous, why isn't it illegal?",
        ISSCR_FAQ,
        "A Closer Look at Stem Cells (ISSCR) FAQ",
        {REGULATION: 1, CLINICS: 1},
    ),
    RealQuestion(
        "Are treatments using my own (autologous) stem cells safe? Why should these be regulated?",
        ISSCR_FAQ,
        "A Closer Look at Stem Cells (ISSCR) FAQ",
        {REGULATION: 2, CLINICS: 1, HSCT: 1},
    ),
    RealQuestion(
        "For what diseases or conditions are stem cell treatments well established?",
        "https://patient-help.com/2012/06/13/what-is-a-stem-cell-therapy/?share=facebook",
        "Patient Help (ISSCR patient FAQ reproduced)",
        {HSCT: 2, REGULATION: 2, CLINICS: 2, CORD_BLOOD: 1},
    ),
    RealQuestion(
        "What are the risks of stem cell therapy?",
        "https://stemcell.ny.gov/faqs/what-are-risks-stem-cell-therapy",
        "New York State Stem Cell Science (NYSTEM) FAQ",
        {CLINICS: 2, MSC: 2, HSCT: 2, OVERVIEW: 2, CAR_T: 1},
    ),
    # --- "Questions to ask" lists: the treatment, its evidence, trials ---
    RealQuestion(
        "Is the treatment routine for this specific disease or condition?",
        ISSCR_WHAT_TO_ASK,
        "A Closer Look at Stem Cells (ISSCR)",
        {REGULATION: 2, CLINICS: 2, ASK: 1},
    ),
    RealQuestion(
        "If I have this treatment, could it affect whether I get into a clinical trial in the "
        "future?",
        ISSCR_WHAT_TO_ASK,
        "A Closer Look at Stem Cells (ISSCR)",
        {TRIALS: 1, NOT_LISTED: 1},
    ),
    RealQuestion(
        "What are the possible benefits I can expect? How will this be measured and how long "
        "will this take?",
        ISSCR_WHAT_TO_ASK,
        "A Closer Look at Stem Cells (ISSCR)",
        {REMISSION: 2, ASK: 1, TRIALS: 1},
    ),
    RealQuestion(
        "If the cells are not my own, how will my immune system be prevented from reacting to "
        "the transplanted cells?",
        "http://www.closerlookatstemcells.org/What_to_Ask.html",
        "A Closer Look at Stem Cells (ISSCR Patient Handbook)",
        {HSCT: 1, DIABETES: 1, CORD_BLOOD: 1, MSC: 1},
    ),
    RealQuestion(
        "What should I ask when considering taking part in a clinical trial?",
        "https://aboutstemcells.org/info/category/Clinical+Trials",
        "About Stem Cells (ISSCR)",
        {TRIALS: 2, ASK: 1},
    ),
    RealQuestion(
        "How can I learn about stem cell clinical trials?",
        "https://www.closerlookatstemcells.org/info/how-to-learn-about-clinical-trials",
        "A Closer Look at Stem Cells (ISSCR)",
        {TRIALS: 2, NOT_LISTED: 2, ASK: 1},
    ),
    # --- Lupus ---
    RealQuestion(
        "I have joined local online support group and I a worried about one girl she seems to "
        "have been told that the usa at the mayo clinic is doing research on stem cell research "
        "and she has it in her head that it could cure her of lupus and I do not know what to "
        "say to her … so I am asking anyone here have they heard of this research. we all know "
        "here that so far there is no cure. what do say to her and all the others have any of "
        "you been approached for trials.i am worried she is going spend lots of money and time "
        "on this.",
        "http://forum.wehavelupus.com/showthread.php?13846-serious-question-for-everyone&p=118012&mode=threaded",
        "We Have Lupus forum",
        {LUPUS: 2, CLINICS: 2, TRIALS: 1, CAR_T: 1},
    ),
    RealQuestion(
        "My doctor told me last week that she has seen lupus go away in some patients. She said "
        "she thinks I am one of them. Is this true? Can lupus “go away”?",
        "https://www.lupusencyclopedia.com/category/prognosis/",
        "The Lupus Encyclopedia (patient questions)",
        {REMISSION: 2, LUPUS: 1},
    ),
    RealQuestion(
        "What is the role of stem cell transplantation in SLE?",
        "https://www.seekhealthz.com/health/role-of-stem-cell-transplantation-in-sle/",
        "SeekHealthZ",
        {LUPUS: 2, HSCT: 1, OVERVIEW: 1},
    ),
    # --- Rheumatoid arthritis, and the knees (osteoarthritis is not covered) ---
    RealQuestion(
        "How can Stem Cells Help Rheumatoid Arthritis?",
        CABO,
        "Cabo Stem Cell Center",
        {RA: 2, MSC: 1, OVERVIEW: 1},
    ),
    RealQuestion(
        "Which Kinds of cells are used in Rheumatoid Arthritis and how are they obtained?",
        CABO,
        "Cabo Stem Cell Center",
        {RA: 2, MSC: 1},
    ),
    RealQuestion(
        "Can stem cell injections cure my osteoarthritis?",
        "https://karmyclinic.com/can-stem-cells-cure-osteoarthritis/",
        "Karmy Clinic",
        {RA: 1, CLINICS: 1},
    ),
    RealQuestion(
        "Is stem cell therapy for knees a good idea?",
        "https://trans-bio-tex.com/2021/04/07/fact-checking-stem-cell-therapy-for-knees-data-costs-risks/",
        "Trans-Bio-Tex",
        {RA: 1, CLINICS: 1},
    ),
    # --- Psoriasis ---
    RealQuestion(
        "This is for MS – another autoimmune disease. I wonder if it could work for psoriatic "
        "arthritis.",
        "https://forum.psoriasislog.com/t/stem-cell-transplants-for-autoimmune-disease/124",
        "Psoriasis Log forum",
        {PSORIASIS: 2, MS: 1, HSCT: 1},
    ),
    RealQuestion(
        "His psoriasis and arthritis cleared with the stem cell therapy and stayed in remission "
        "… Does anyone else remember any details about this one --- or has anyone seen some of "
        "the similar advances made in Germany & Japan?",
        "http://www.inspire.com/groups/talk-psoriasis/discussion/complete-psoriasis-remission-with-stem-cells/",
        "Inspire (Talk Psoriasis)",
        {PSORIASIS: 2},
    ),
    # --- Type 1 diabetes ---
    RealQuestion(
        "What is allogeneic islet transplantation and why is it a better alternative than the "
        "standard of care?",
        "https://www.chicagodiabetesproject.org/faq",
        "Chicago Diabetes Project FAQ",
        {DIABETES: 2, IMMUNOSUPPRESSANTS: 1},
    ),
    RealQuestion(
        "Will There Be a Cure for Diabetes?",
        "https://www.sharecare.com/video/sharecare-experts/athena-philis-tsimikas/will-there-be-a-cure-for-diabetes",
        "Sharecare",
        {DIABETES: 2, REMISSION: 1},
    ),
    RealQuestion(
        "As a type 1 I'm obviously interested in such development. But if they do it only \"for "
        'people unable to safely control type 1 diabetes" there must be a serious downside.',
        "https://techecho.bigdataflowing.com/en/item/11527840",
        "Hacker News discussion (mirror)",
        {DIABETES: 2, IMMUNOSUPPRESSANTS: 1},
    ),
    RealQuestion(
        "IS IMMUNOSUPPRESSION JUSTIFIED TO ACHIEVE INSULIN-INDEPENDENCE?",
        "https://experts123.com/q/is-immunosuppression-justified-to-achieve-insulin-independence.html",
        "Experts123 (reprinting Insulin Free Times)",
        {DIABETES: 2, IMMUNOSUPPRESSANTS: 1},
    ),
    RealQuestion(
        "Would you be willing to try this?",
        "https://thesavvydiabetic.com/research-news-reversing-inflammation-could-cure-diabetes/",
        "The Savvy Diabetic",
        {DIABETES: 1, MSC: 1},
    ),
    # --- Crohn's disease ---
    RealQuestion(
        "Can Stem Cell Therapy Treat Crohn's Disease?",
        "https://www.webmd.com/ibd-crohns-disease/crohns-disease/stem-cell-therapy-and-crohns-disease",
        "WebMD",
        {CROHNS: 2, MSC: 1, OVERVIEW: 1},
    ),
    # --- Guillain-Barré syndrome ---
    RealQuestion(
        "What is Guillain-Barré syndrome and is it difficult to treat?",
        "https://globalpower.org/guillain-barre-syndrome-stem-cell-treatment.html",
        "Swiss Medica clinic (GBS stem cell page)",
        {GBS: 2},
    ),
    RealQuestion(
        "Can Guillain-Barré Syndrome Come Back?",
        "https://biologyinsights.com/can-guillain-barre-syndrome-come-back-2",
        "Biology Insights",
        {GBS: 2},
    ),
    # --- Systemic sclerosis ---
    RealQuestion(
        "I have been reading about the SCOT study and the eligibility criteria. … Is that saying "
        "that if you have had any other symptoms other than Raynaud's over four years ago you "
        "are not a candidate? … What do you all think about stem cell?",
        "https://www.sclero.org/forums/topic/2703-scot-study/?tab=comments",
        "Sclero Forums",
        {SCLERODERMA: 2, TRIALS: 1, HSCT: 1},
    ),
    RealQuestion(
        "I wanted to find out more about the various stem cell trials - I'm reading up on it "
        "and I'm suspecting she might not be a good candidate for any of them since she's in her "
        "70s, but am curious as to their current success rate, and how long it will take to go "
        "from clinical trial status to actual treatment, and if there's anything that can be "
        "done for her.",
        "https://www.sclero.org/forums/topic/7791-status-of-stem-cell-trials/",
        "Sclero Forums",
        {SCLERODERMA: 2, REMISSION: 1, TRIALS: 1},
    ),
    RealQuestion(
        "When is it appropriate to refer a systemic sclerosis patient for bone marrow transplant "
        "evaluation?",
        "https://themednet.org/when-is-it-appropriate-to-refer-a-systemic-sclerosis-patient-for-"
        "bone-marrow-transplant-evaluation",
        "theMednet (doctors' questions)",
        {SCLERODERMA: 2, HSCT: 1},
    ),
    # --- Diseases and treatments the library does not cover ---
    RealQuestion(
        "Many testimonies have come forth about stem cell therapy for autism but, are they "
        "really true? Is there any creditability to these claims of rapid improvement and near "
        "to miraculous turn around?",
        "https://theautismuniverse.com/stem-cell-therapy-things-to-consider/",
        "The Autism Universe",
        {CLINICS: 1, REMISSION: 1},
    ),
    RealQuestion(
        "My Father was Dx with Parkinson's about 5yrs ago and is doing pretty good so far except "
        "that he was just put on Sinemet which his doctor says is the last thing she can try. … "
        "Now my oldest brother has heard of a research project in the LosAngeles area where they "
        "take stem cells from the patient's brain and culture them in the lab for a year. … Have "
        "any of you heard of this new treatment/research? I am interested in finding out "
        "whatever I can.",
        "https://allnurses.com/general-nursing-discussion/stem-cell-therapy-22858.html",
        "allnurses forum",
        {TRIALS: 1},
    ),
)
