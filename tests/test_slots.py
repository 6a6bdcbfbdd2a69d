"""Slots: values two reports of one event can disagree on, compared only within one measure."""

from __future__ import annotations

import pytest

from verify import conflict_model, slots


def clash(a: str, b: str, published: str | None = "2023-02-12", same_speaker: bool = False) -> dict:
    return slots.compare(slots.extract(a, published), slots.extract(b, published), same_speaker).clash


def test_weekday_resolves_against_the_articles_date():
    # Friday 3 February 2023: "on Wednesday" is 1 February.
    (text, date), = slots.extract("Biden gave the order on Wednesday.", "2023-02-03").dates
    assert (text, date) == ("Wednesday", (2023, 2, 1))


def test_reference_date_of_an_undated_article_is_its_latest_full_date():
    articles = [{"id": "a", "published": None, "text": "The object was seen on Wednesday, Feb. 1, 2023, over the city."},
                {"id": "b", "published": "2023-02-05", "text": "Nothing dated here."}]
    assert slots.reference_dates(articles) == {"a": "2023-02-01", "b": "2023-02-05"}


@pytest.mark.parametrize("a, b", [
    ("The balloon was shot down off the coast on Feb. 4.", "The balloon was downed off the coast on Feb. 5."),
    ("Biden authorized the strike on Wednesday.", "Biden authorized the strike on Feb. 2."),  # Wednesday = Feb. 1
    ("The quake struck at a depth of about 17.9km.", "The quake occurred at a depth of 7 kilometres."),
    ("Officials said 5,383 people were wounded.", "Officials said 5,385 others were injured."),
    # Two counts joined by "and", each read with its own noun.
    ("The jet carried two pilots and eight passengers.", "Officials named the five passengers and two pilots."),
    # A bare decimal in a sentence about a quake is its magnitude, whatever town it is told near.
    ("The agency measured the earthquake at 6.1 and said it was centred in Sela.", "The 6.4 magnitude quake struck near Varno."),
])
def test_same_event_values_clash(a, b):
    assert clash(a, b)


@pytest.mark.parametrize("a, b", [
    # A lower bound is not contradicted by a larger count reported later.
    ("At least 10 deaths were reported initially.", "At least 3,549 deaths have been reported."),
    # A unit conversion that rounds.
    ("The water there is just 14 m deep.", "The water there is about 50 feet deep."),
    # Two lengths of different things: a distance and a depth.
    ("The quake was centred about 33 kilometers from Gaziantep.", "The quake struck at a depth of about 17.9km."),
    # Parts, not the whole: deaths in two places.
    ("At least 3,549 deaths were reported in Turkey.", "At least 1,602 deaths were reported in Syria."),
    # Two parties speaking on two days.
    ("Austin said on Tuesday the states were concerned.", "North Korea on Monday called the command a tool."),
    # One side's only date is also on the other side, which tells a later step too.
    ("The balloon entered U.S. airspace on Jan. 28.",
     "The balloon entered U.S. airspace on Jan. 28 and did not cross open water until Feb. 4."),
    # Figures of two events of a sequence: the second quake against the first one.
    ("A 7.8-magnitude quake struck before dawn.", "A second quake of magnitude 7.5 struck in the afternoon."),
    ("A 7.8-magnitude quake struck before dawn.", "A 6.7 aftershock hit the same region hours later."),
    ("A magnitude 7.8 quake and its aftershocks killed thousands.", "A second quake of magnitude 7.5 struck later."),
    ("The quake was followed 11 minutes later by a magnitude 6.7 aftershock.", "A second 7.6 magnitude tremor struck the same region."),
    ("The first blast was recorded at 2:03 a.m., the second at 7:04 p.m.",
     "The first blast was recorded at 2 am, and the second at 19:00."),
    # An early report against a later count.
    ("Initial reports claimed 10 deaths in the city.", "Officials reported 86 deaths in the city."),
    # A numeral of a name is not a count: Nord Stream 1 against Nord Stream 2.
    ("Leaks were found in the Nord Stream 1 pipeline.", "Leaks were found in the Nord Stream 2 pipeline."),
    # The same bearing told roughly.
    ("The jet crashed north of Moscow.", "The jet crashed northwest of Moscow."),
    # A bound written after the figure.
    ("Only quakes of magnitude 6 or larger count here.", "The quake had a magnitude of 7.8."),
    # A count that rose, told on two days: another figure on another day.
    ("The death toll exceeded 35,000 on Monday.", "On Thursday, the death toll exceeded 17,000."),
    # The whole against its parts: ten on board, seven passengers and three crew.
    ("The jet carried seven passengers and three crew members.", "All 10 passengers on the jet were killed."),
    # A part ("six other passengers", besides one named) or an increment ("an additional").
    ("The jet carried seven passengers and a crew of three.", "The founder and six other passengers were on the jet."),
    ("Officials said 15,384 people were injured.", "Officials said an additional 2,000 people were injured."),
    # A figure of another year is another event.
    ("The largest quake there was a magnitude 6.7, on January 24, 2020.", "The magnitude 7.8 quake struck before dawn."),
    # A part of a country against another region: north-western Syria, the north-east's administration.
    ("Six deaths were confirmed in the areas of the Autonomous Administration of North and East Syria.",
     "The UN said 4,300 deaths had been reported in the rebel-held areas in northwestern Syria."),
])
def test_compatible_values_do_not_clash(a, b):
    assert not clash(a, b)


def test_a_count_written_with_a_point_for_thousands_in_one_region_told_two_ways():
    # "2.274 deaths" is 2,274; "northwest Syria" and "northwestern Syria" are one scope.
    a = slots.extract("In all, 2.274 deaths and 12.400 injuries were confirmed in northwest Syria.", "2023-02-14")
    assert [n.value for n in a.numbers] == [2274.0, 12400.0]
    b = slots.extract("The UN said 4,300 deaths had been reported in the rebel-held areas in northwestern Syria.", "2023-02-14")
    assert a.numbers[0].scope == b.numbers[0].scope == {"northwest syria"}
    assert slots.compare(a, b).clash == {"number": 1}


def test_compass_bearings_whose_sectors_do_not_meet_clash():
    assert clash("The jet crashed northwest of Moscow.", "The jet crashed north-east of Moscow.") == {"direction": 1}
    assert clash("The jet crashed northwest of Moscow.", "It came down in a region east of the capital Moscow.") == {"direction": 1}
    # A town north-west of a city is told "north of" by one outlet and "west of" by another.
    assert clash("The jet crashed just north of Moscow.", "The jet crashed in the Tver region west of Moscow.") == {}
    assert clash("The jet crashed north of Moscow.", "The jet crashed northwest of Moscow.") == {}


def test_a_bearing_needs_a_named_reference_spelt_either_way():
    # "northeast of the island" names no place; "Nurdağı" and "Nurdagi" are one town.
    assert slots.extract("A second blast northeast of the island was stronger.").directions == []
    a = slots.extract("The quake struck east of the Turkish district of Nurdağı.")
    b = slots.extract("The quake struck west of Nurdagi.")
    assert [d[1:] for d in a.directions] == [("east", "nurdagi")]
    assert slots.compare(a, b).clash == {"direction": 1}


def test_distances_from_one_place_clash_and_a_bound_of_another_kind_does_not():
    far = "A resident near Kuzhenkino, some 290 kilometres (180 miles) northwest of Moscow, heard a roar."
    assert clash(far, "The business jet crashed in the Tver region, about 160 km from the capital Moscow.") == {"number": 1}
    # "more than 100 km" holds with 290; "within 200 km of Moscow" is how close a march came.
    assert clash(far, "The incident took place in the Tver region, more than 100 km north of Moscow.") == {}
    assert clash(far, "Wagner fighters marched to within 200 kilometers of Moscow.") == {}
    # Two distances from no shared place are not compared.
    assert clash(far, "The jet was flying about 160 km from the nearest airport.") == {}
    assert slots.located(far) == {"moscow"}


def test_durations_told_in_words():
    a = "The jet had been in the air for about half an hour when it fell."
    assert [n.value for n in slots.extract(a).numbers] == [1800.0]
    assert [n.value for n in slots.extract("It landed two and a half hours later.").numbers] == [9000.0]
    assert clash(a, "The jet fell after being in the air for about an hour and a half.") == {"number": 1}
    assert clash(a, "The jet had been in the air for 30 minutes when it fell.") == {}
    # Durations of different things (taking off, being aloft) are not compared.
    assert clash("The plane had taken off 90 minutes earlier.", a) == {}


def test_a_quake_told_with_its_aftershocks_is_still_the_quake():
    # "and its aftershocks" after the figure does not make 7.8 an aftershock's magnitude.
    assert clash("The death toll from a magnitude 7.8 earthquake and its aftershocks rose.",
                 "The agency said the 7.7 magnitude quake struck before dawn.") == {"number": 1}


def test_each_side_holding_a_figure_the_other_lacks_clashes():
    a = "The balloon entered U.S. airspace on Jan. 28 and was shot down on Feb. 4."
    b = "The balloon entered U.S. airspace on Jan. 28 and was shot down on Feb. 5."
    assert clash(a, b) == {"date": 1}


def test_dates_clash_only_when_said_of_one_thing():
    same = slots.compare(slots.extract("The jet crashed on 23 August near Tver."),
                         slots.extract("The jet crashed on August 25 in the Tver region."))
    other = slots.compare(slots.extract("The balloon was first identified on Jan. 28 near Alaska."),
                          slots.extract("It was shot down on Feb. 4 off South Carolina."))
    assert same.clash == {"date": 1} and same.clash_frame > 0.25
    # Both clauses say what their date is of, and in no word alike: two events, no clash.
    assert other.clash == {}
    # The whole clause is read, not a few words either side of the date: "shot down the balloon
    # on February 4th" and "the balloon was downed off the coast of South Carolina on Feb. 5".
    assert clash("An F-22 fighter jet shot down the suspected spy balloon on February 4th.",
                 "The balloon was downed off the coast of South Carolina on Feb. 5 by a missile.") == {"date": 1}
    # A clause that says nothing of its date's event is still compared.
    bare = slots.compare(slots.extract("Timeline, Jan. 28: the first sighting."), slots.extract("It was shot down on Feb. 4 off South Carolina."))
    assert bare.clash == {"date": 1}


def test_one_party_speaking_on_two_days_clashes():
    a = "In a statement on Sunday, the foreign ministry called it an overreaction."
    b = "In a statement Monday, the foreign ministry called it an overreaction."
    assert not clash(a, b)
    assert clash(a, b, same_speaker=True) == {"date": 1}


def test_compass_words_on_one_place_clash():
    assert clash("It was shot down off the coast of South Carolina.", "It was shot down off the coast of North Carolina.") == {"place": 1}


def test_scorer_file_matches_the_features_it_reads():
    scorer = conflict_model.load()
    assert scorer is not None, "models/conflict/model.json ships with the package"
    assert len(scorer.weights) == len(conflict_model.FEATURES) == len(scorer.mean)
    assert 0.0 < scorer.flag_threshold < 1.0
    if scorer.trees is not None:  # every split reads a feature that exists
        assert all(t["feature"][~t["leaf"]].max(initial=0) < len(conflict_model.FEATURES) for t in scorer.trees.trees)


def test_a_scorer_file_written_again_is_read_again(tmp_path):
    # A benchmark writes each fold's scorer under one name; a stale read would score every fold
    # with the first fold's model.
    import json

    doc = conflict_model.load().to_json()
    path = tmp_path / "scorer.json"
    for threshold in (0.3, 0.35, 0.125):  # sizes differ: two writes can share a clock tick
        path.write_text(json.dumps({**doc, "flag_threshold": threshold}), "utf-8")
        assert conflict_model.load(str(path)).flag_threshold == threshold
    assert conflict_model.load(str(tmp_path / "absent.json")) is None


def test_tree_scorer_gives_scikit_learns_probabilities_after_a_round_trip_through_json():
    """The shipped trees are read from JSON and evaluated without scikit-learn: the same
    probabilities as the fitted estimator, a missing value included."""
    import json

    import numpy as np
    from sklearn.ensemble import HistGradientBoostingClassifier

    n = len(conflict_model.FEATURES)
    rng = np.random.default_rng(0)
    X = rng.random((1500, n))
    X[:, 3] = rng.integers(0, 3, len(X))
    X[rng.random(len(X)) < 0.05, 5] = np.nan
    y = (X[:, 0] + 0.3 * X[:, 3] + rng.normal(0, 0.2, len(X)) > 0.9).astype(int)
    model = HistGradientBoostingClassifier(max_iter=40, max_depth=3, random_state=0).fit(X, y)
    scorer = conflict_model.from_json(json.loads(json.dumps(conflict_model.from_boosting(model, 0.6).to_json())))
    test = rng.random((400, n))
    test[::7, 5] = np.nan
    assert scorer.flag_threshold == 0.6 and scorer.trees is not None
    assert np.allclose(scorer.probability(test.tolist()), model.predict_proba(test)[:, 1], rtol=0, atol=1e-12)
    assert len(scorer.probability([])) == 0
    assert scorer.flags_per_article is None
    capped = conflict_model.from_boosting(model, 0.6)
    capped.flags_per_article = 0.75
    assert conflict_model.from_json(json.loads(json.dumps(capped.to_json()))).flags_per_article == 0.75


def test_the_scorers_flags_are_capped_per_article_best_first():
    from verify import conflicts

    rows = [{"pair_key": f"k{n}", "score": s} for n, s in enumerate([0.81, 0.95, 0.9, 0.9, 0.85])]
    assert conflicts.cap_scored(rows, 10, None) == rows
    kept = conflicts.cap_scored(rows, 4, 0.75)  # 3 of 5
    assert [r["pair_key"] for r in kept] == ["k1", "k2", "k3"]  # a tie broken by content
    assert len(conflicts.cap_scored(rows, 1, 0.1)) == 1  # never none at all


def test_place_clashes_do_not_depend_on_the_hash_seed():
    """Places are kept in sets; the compass check must read each place on its own, in a fixed
    order, or "South Carolina" and "North ..." run together differently in each process."""
    import subprocess
    import sys

    code = ("from verify import slots; "
            "a = slots.extract('The balloon was shot down off the coast of South Carolina near Myrtle Beach over the Atlantic.'); "
            "b = slots.extract('It was downed off the coast of North Carolina from Langley in Virginia over the Atlantic.'); "
            "c = slots.compare(a, b); print(c.clash.get('place', 0), sorted(c.cues.get('place', ())))")
    outputs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              env={**__import__("os").environ, "PYTHONHASHSEED": str(seed)}).stdout
               for seed in range(6)}
    assert len(outputs) == 1
    assert outputs.pop().startswith("1 ")


def compare_dated(a: str, published_a: str | None, b: str, published_b: str | None) -> slots.Comparison:
    return slots.compare(slots.extract(a, published_a), slots.extract(b, published_b))


def test_a_weekday_agrees_with_the_full_date_it_falls_on_whatever_week_its_article_is_read_in():
    # Saturday 4 February 2023, told in an article read against 13 February (where "Saturday" is
    # the 11th) and in one of 5 February.
    cmp = compare_dated("The jet shot down the balloon Saturday off the coast.", "2023-02-13",
                        "The jet shot down the balloon on February 4th off the coast.", "2023-02-05")
    assert cmp.clash == {} and cmp.agree == {"date": 1}
    # The calendar says Feb. 5 was a Sunday: that clashes even with an undated article's Saturday.
    assert compare_dated("The jet shot down the balloon Saturday off the coast.", None,
                         "The jet shot down the balloon on Feb. 5, 2023 off the coast.", "2023-02-12").clash == {"date": 1}


def test_the_same_weekday_in_articles_of_two_weeks_does_not_clash():
    assert compare_dated("The jet crashed on Wednesday evening.", "2023-08-24",
                         "The jet crashed on Wednesday evening north of Moscow.", "2023-09-02").clash == {}


def test_a_weekday_against_a_month_alone_is_not_compared():
    # "early in February" and "Saturday" in an article of March: which week was meant is a guess.
    cmp = compare_dated("The balloon was shot down early in February.", "2023-03-06",
                        "The balloon was shot down Saturday.", "2023-03-06")
    assert cmp.clash == {} and cmp.agree == {}


def test_figures_of_the_first_and_the_other_event_are_compared_event_by_event():
    # "the first ... 2.3, while the other ... 2.1" against "the first ... 1.9": the first blast's
    # magnitude clashes; the other blast's 2.1 is not compared with it, nor does the first's 2.3
    # agree with a second blast's 2.3.
    a = "The first blast measured 2.3 on the Richter scale, while the other measured 2.1 on the Richter scale."
    first = slots.compare(slots.extract(a), slots.extract("The first blast of magnitude 1.9 was recorded late on Sunday."))
    assert first.clash == {"number": 1} and first.cues["number"][0] == "2.3 on the Richter scale"
    second = slots.compare(slots.extract(a), slots.extract("A second blast of magnitude 2.3 was recorded in the evening."))
    assert second.clash == {"number": 1} and second.agree == {}


@pytest.mark.parametrize("words, zone", [
    ("01:17 GMT) on Monday", "utc"), ("4:17am (01:17 GMT) on Monday", ""), ("19:04 local time on Monday", "local"),
    ("6:20 pm Moscow time, the agency said", "local"), ("5:20 pm, moments before", ""),
])
def test_the_clock_a_time_is_told_on(words, zone):
    assert slots._time_zone(words) == zone


def test_a_time_in_gmt_is_not_compared_with_a_local_one():
    # 00:03 GMT is 2:03 am in Bornholm: the zone, not the event, differs.
    assert clash("The first blast was recorded at 0003 GMT near the island.", "The first blast was recorded at 2:03 am near the island.") == {}
    assert clash("The first blast was recorded at 0003 GMT near the island.", "The first blast was recorded at 0203 GMT near the island.") == {"time": 1}


def test_the_day_a_death_was_confirmed_is_not_the_day_of_the_crash():
    # "confirmed his death on Sunday": the day of a statement with its object between; the crash
    # was on Wednesday. "The jet that crashed on Wednesday" is the event's own day.
    crash = "Bodies were found in the plane that crashed on Wednesday, the ministry said."
    assert clash(crash, "Russian authorities confirmed Prigozhin's death on Sunday.", "2023-08-28") == {}
    assert clash(crash, "Putin praised the mercenary leader as a talented man on Thursday.", "2023-08-28") == {}
    assert clash(crash, "The jet crashed on Thursday, officials said.", "2023-08-28") == {"date": 1}
    told = "Officials said the jet that crashed on Wednesday carried ten."
    assert not slots.spoken_on(told, *slots.DATE_RE.search(told).span())
    told = "Russian authorities confirmed Prigozhin's death on Sunday."
    assert slots.spoken_on(told, *slots.DATE_RE.search(told).span())


def test_a_date_of_another_object_of_a_series_is_not_compared():
    # "Another balloon was detected on Friday": another object's day, not a second account of
    # the first one's. "Later on Saturday" is within one account, and still clashes.
    first = "The latest balloon was first detected on Jan. 28 near Alaska."
    assert clash(first, "Another balloon was detected over Latin America on Friday evening.", "2023-02-04") == {}
    assert clash(first, "The third object was shot down on Sunday over Lake Huron.", "2023-02-13") == {}
    assert clash(first, "The balloon was detected near Alaska on Jan. 30.", "2023-02-04") == {"date": 1}
    assert clash("The balloon was shot down later on Saturday.", "The balloon was shot down on Sunday.", "2023-02-06") == {"date": 1}


def test_a_figure_a_count_went_past_is_a_lower_bound():
    # Two tolls that "exceeded" different figures on different days are both true.
    assert [n.bound for n in slots.extract("As the death toll exceeds 20,000, anger grows.").numbers] == ["min"]
    assert clash("The death toll soared above 5,300 and was still expected to rise.",
                 "The death toll has exceeded 28,000 and is expected to rise further.") == {}
    assert clash("The death toll has exceeded 28,000.", "The death toll stood at 20,000.") == {"number": 1}


def test_a_member_of_a_group_is_not_a_count_of_it():
    # "one of the divers" says the man was a diver, not that there was one; "two of the four
    # lines" still counts lines of a told whole.
    team = "A team of six, consisting of a captain, two divers, two diving assistants and a doctor, brought the explosives."
    assert clash(team, "Investigators believe the man was one of the divers who planted the explosives.") == {}
    assert slots.extract("Two of them were arrested on Friday.").numbers == []
    assert clash("The explosions destroyed three out of four pipelines.",
                 "The explosions destroyed two of the four lines of the pipelines.") == {"number": 1}


def test_a_span_of_days_agrees_with_each_of_its_days():
    # "June 23-24" tells two days: "June 24" is one of them, not another date.
    assert slots.extract("He led a mutiny on June 23-24.", "2023-08-28").dates == [("June 23-24", (2023, 6, None))]
    assert slots.extract("Floods on 6-7 February 2023.").dates == [("6-7 February 2023", (2023, 2, None))]
    assert clash("Wagner staged a mutiny on June 24.", "Wagner staged a mutiny on June 23-24.", "2023-08-28") == {}
    assert clash("Wagner staged a mutiny on June 24.", "Wagner staged a mutiny on July 23-24.", "2023-08-28") == {"date": 1}


def test_a_photo_captions_date_is_not_the_events():
    caption = "A satellite image shows the area where the jet crashed near Kuzhenkino, Russia, August 24, 2023, in this handout picture."
    assert slots.extract(caption, "2023-08-25").dates == []
    assert slots.extract("A jet flies near a balloon off the coast on February 4, 2023.— AP FILE").dates == []
    # A poll run with AP is no photo.
    assert slots.extract("An AP/NORC poll published on February 4, 2023 found wide support.").dates != []
    assert clash("The jet crashed near Kuzhenkino on August 24, 2023.", "The jet crashed near Kuzhenkino on Wednesday.",
                 "2023-08-25") == {"date": 1}


def test_saying_on_a_day_is_the_day_someone_spoke():
    text = "Investigators confirmed the death, saying on Sunday that genetic tests matched."
    assert slots.spoken_on(text, *slots.DATE_RE.search(text).span())


@pytest.mark.parametrize("text, kind", [
    ("An F-22 fired a missile at 58,000 ft., downing the balloon.", "altitude"),
    ("The plane reached an altitude of some 28,000 feet.", "altitude"),
    ("It was shot down about 7 miles off the South Carolina coast.", "distance"),
    ("The plane crashed 290 kilometres (180 miles) northwest of Moscow.", "distance"),
    ("The quake struck at a depth of 10 km.", "depth"),
    ("It was 11 miles deep.", "depth"),
    ("The balloon was 200 feet tall.", "size"),
    ("The pipeline runs for 1,200 km.", ""),
    ("Queues stretched for up to 10 km.", ""),  # "up to" is a bound, not a height
])
def test_a_length_says_what_it_measures(text, kind):
    assert [n.kind for n in slots.extract(text).numbers if n.measure == "length"][:1] == [kind]


def test_lengths_of_two_kinds_are_not_compared():
    # The height a missile was fired at against how far off the coast the balloon fell: the
    # two figures share "shot" and "down" around them, and still measure two things.
    assert clash("An F-22 shot down the balloon with a missile fired at 58,000 ft.",
                 "The balloon was shot down about 7 miles off the coast.") == {}
    assert clash("The balloon was shot down about 7 miles off the coast.",
                 "The balloon was shot down about 12 miles off the coast.") == {"number": 1}


def test_an_ordinal_before_a_comma_still_names_the_event():
    # "A second, more powerful blast": the magnitude is the second blast's, not the first's.
    second = slots.extract("A second, more powerful blast northeast of the island that night corresponded to a magnitude 2.3 earthquake.")
    assert list(second.orders.values())[0] == 2
    assert clash("The first blast had a magnitude of 1.9.",
                 "A second, more powerful blast northeast of the island that night corresponded to a magnitude 2.3 earthquake.") == {}


def test_an_averaged_scorer_gives_the_mean_log_odds_of_its_members():
    import json

    import numpy as np
    from sklearn.ensemble import HistGradientBoostingClassifier

    n = len(conflict_model.FEATURES)
    rng = np.random.default_rng(1)
    X = rng.random((1200, n))
    y = (X[:, 0] + 0.5 * X[:, 2] + rng.normal(0, 0.2, len(X)) > 0.8).astype(int)
    members = [conflict_model.from_boosting(HistGradientBoostingClassifier(max_iter=it, max_depth=d, random_state=0).fit(X, y), 0.5)
               for it, d in ((30, 2), (60, 3))]
    scorer = conflict_model.from_json(json.loads(json.dumps(conflict_model.averaged(members).to_json())))
    test = rng.random((300, n))
    log_odds = lambda p: np.log(p / (1 - p))  # noqa: E731
    want = np.mean([log_odds(np.asarray(m.probability(test.tolist()))) for m in members], axis=0)
    assert np.allclose(log_odds(np.asarray(scorer.probability(test.tolist()))), want, atol=1e-9)
    assert len(scorer.trees.trees) == 90
